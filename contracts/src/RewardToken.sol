// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title RewardToken
/// @notice ERC-20 with EIP-2612 permit, used for demos and tests. Bounties accept any ERC-20.
contract RewardToken is ERC20, ERC20Permit, Ownable {
    /// @param initialHolder receives `initialSupply` and becomes the owner (the minter).
    constructor(address initialHolder, uint256 initialSupply)
        ERC20("Tributary Reward", "TRIB")
        ERC20Permit("Tributary Reward")
        Ownable(initialHolder)
    {
        _mint(initialHolder, initialSupply);
    }

    /// @notice Mints `amount` to `to`. Only the owner.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
