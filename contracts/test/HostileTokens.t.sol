// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Base, Batch} from "./Base.sol";
import {Bounties} from "../src/Bounties.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @dev A token that, once armed, calls back into `target` when `target` sends tokens.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public reentered;
    bytes public reentryError;

    constructor() ERC20("Evil", "EVIL") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (target != address(0) && from == target) {
            address t = target;
            target = address(0);
            (bool ok, bytes memory ret) = t.call(payload);
            reentered = ok;
            reentryError = ret;
        }
    }
}

contract ReentrancyTest is Base {
    ReentrantToken internal evil;
    uint256 internal id;
    Batch internal batch;

    function setUp() public {
        _deploy();
        evil = new ReentrantToken();
        Bounties.BountyParams memory p = _params(1_000, 1, 1, 0, uint64(block.timestamp + 1 days));
        p.token = IERC20(address(evil));
        evil.mint(sponsor, 1_000);
        vm.startPrank(sponsor);
        evil.approve(address(bounties), 1_000);
        id = bounties.createBounty(p);
        vm.stopPrank();
        for (uint256 i = 1; i <= 2; ++i) {
            vm.prank(address(uint160(i)));
            bounties.join(id, 0);
        }
        Batch memory b = _batch(1, 2, 0, 800);
        _record(id, b);
        batch = b;
    }

    function _assertBlocked() internal view {
        assertTrue(!evil.reentered(), "re-entry must fail");
        assertTrue(
            bytes4(evil.reentryError()) == ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector,
            "blocked by the guard"
        );
    }

    function test_claimCannotReenterClaim() public {
        Bounties.Contribution[] memory leaves = _one(_leaf(batch, 0));
        evil.arm(address(bounties), abi.encodeCall(Bounties.claim, (id, leaves)));
        bounties.claim(id, leaves);
        _assertBlocked();
        assertEq(evil.balanceOf(batch.accounts[0]), 400, "paid once");
        assertEq(bounties.getBounty(id).paid, 400, "ledger paid once");
    }

    function test_claimCannotReenterRefund() public {
        Bounties.Contribution[] memory leaves = _one(_leaf(batch, 0));
        evil.arm(address(bounties), abi.encodeCall(Bounties.refund, (id)));
        bounties.claim(id, leaves);
        _assertBlocked();
    }

    function test_refundCannotReenterClaim() public {
        vm.warp(block.timestamp + 2 days);
        Bounties.Contribution[] memory leaves = _one(_leaf(batch, 1));
        evil.arm(address(bounties), abi.encodeCall(Bounties.claim, (id, leaves)));
        bounties.refund(id);
        _assertBlocked();
        // the claim still works afterwards, and the escrow is exactly emptied
        bounties.claim(id, leaves);
        assertEq(evil.balanceOf(address(bounties)), 400, "first claimant's share stays");
        assertEq(evil.balanceOf(sponsor), 200, "refund");
    }

    function test_withdrawCannotReenter() public {
        ReentrantToken staked = evil;
        staked.mint(address(3), 50);
        vm.startPrank(address(3));
        staked.approve(address(bounties), 50);
        bounties.join(id, 50);
        vm.stopPrank();
        vm.warp(block.timestamp + 2 days);
        evil.arm(address(bounties), abi.encodeCall(Bounties.withdrawStake, (id)));
        vm.prank(address(3));
        bounties.withdrawStake(id);
        _assertBlocked();
        assertEq(evil.balanceOf(address(3)), 50, "stake returned once");
    }

    function test_registryRevenueClaimCannotReenter() public {
        vm.prank(sponsor);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Paid, IERC20(address(evil)), 100);
        evil.mint(address(0xB0B), 100);
        vm.startPrank(address(0xB0B));
        evil.approve(address(registry), 100);
        registry.buyLicence(id);
        vm.stopPrank();
        Bounties.Contribution[] memory leaves = _one(_leaf(batch, 0));
        evil.arm(address(registry), abi.encodeCall(ModelRegistry.claimRevenue, (id, IERC20(address(evil)), leaves)));
        registry.claimRevenue(id, IERC20(address(evil)), leaves);
        _assertBlocked();
        assertEq(evil.balanceOf(batch.accounts[0]), 50, "revenue paid once");
    }
}

/// @dev Keeps 1 % of every transfer.
contract FeeToken is ERC20 {
    constructor() ERC20("Fee", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0xFEE), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

contract FeeOnTransferTest is Base {
    function test_escrowsWhatArrives() public {
        _deploy();
        FeeToken fee = new FeeToken();
        Bounties.BountyParams memory p = _params(10_000, 2, 1, 100, uint64(block.timestamp + 1 days));
        p.token = IERC20(address(fee));
        fee.mint(sponsor, 10_000);
        vm.startPrank(sponsor);
        fee.approve(address(bounties), 10_000);
        uint256 id = bounties.createBounty(p);
        vm.stopPrank();
        Bounties.Bounty memory b = bounties.getBounty(id);
        assertEq(b.deposited, 9_900, "deposited what arrived");
        assertEq(b.roundBudget, 4_950, "round budget from what arrived");

        fee.mint(address(1), 200);
        vm.startPrank(address(1));
        fee.approve(address(bounties), 200);
        vm.expectRevert(abi.encodeWithSelector(Bounties.StakeTooLow.selector, 99, 100));
        bounties.join(id, 100);
        bounties.join(id, 200);
        vm.stopPrank();
        (uint256 stake,) = bounties.stakeOf(id, address(1));
        assertEq(stake, 198, "stake is what arrived");
        assertEq(fee.balanceOf(address(bounties)), 9_900 + 198, "escrow balance");
    }
}
