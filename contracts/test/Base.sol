// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {RewardToken} from "../src/RewardToken.sol";
import {Bounties} from "../src/Bounties.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";

/// @dev Builds the rounds' Merkle trees the same way Bounties does, and proofs for them.
library Tree {
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[] memory level = _copy(leaves);
        uint256 len = level.length;
        while (len > 1) {
            uint256 half = len / 2;
            for (uint256 i; i < half; ++i) {
                level[i] = _hashPair(level[2 * i], level[2 * i + 1]);
            }
            if (len % 2 == 1) {
                level[half] = level[len - 1];
                half += 1;
            }
            len = half;
        }
        return level[0];
    }

    function proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory out) {
        bytes32[] memory level = _copy(leaves);
        bytes32[] memory path = new bytes32[](64);
        uint256 depth;
        uint256 len = level.length;
        while (len > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < len) path[depth++] = level[sibling];
            uint256 half = len / 2;
            for (uint256 i; i < half; ++i) {
                level[i] = _hashPair(level[2 * i], level[2 * i + 1]);
            }
            if (len % 2 == 1) {
                level[half] = level[len - 1];
                half += 1;
            }
            len = half;
            index /= 2;
        }
        out = new bytes32[](depth);
        for (uint256 i; i < depth; ++i) out[i] = path[i];
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _copy(bytes32[] memory a) private pure returns (bytes32[] memory c) {
        c = new bytes32[](a.length);
        for (uint256 i; i < a.length; ++i) c[i] = a[i];
    }
}

/// @dev One recorded round, kept by the tests to build claims.
struct Batch {
    uint256 round;
    address[] accounts;
    bytes32[] commitments;
    int256[] scores;
    uint256[] rewards;
}

abstract contract Base {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    RewardToken internal token;
    Bounties internal bounties;
    ModelRegistry internal registry;

    address internal sponsor = address(0x5905);
    address internal coordinator = address(0xC00D);

    function _deploy() internal {
        token = new RewardToken(address(this), 0);
        bounties = new Bounties();
        registry = new ModelRegistry(bounties);
    }

    function _params(uint128 budget, uint16 rounds, uint32 minParticipants, uint128 minStake, uint64 deadline)
        internal
        view
        returns (Bounties.BountyParams memory)
    {
        return Bounties.BountyParams({
            token: IERC20(address(token)),
            budget: budget,
            rounds: rounds,
            minParticipants: minParticipants,
            minStake: minStake,
            deadline: deadline,
            coordinator: coordinator,
            modelSpecHash: keccak256("spec"),
            validationSetHash: keccak256("validation")
        });
    }

    function _create(uint128 budget, uint16 rounds) internal returns (uint256 id) {
        return _createAs(sponsor, _params(budget, rounds, 1, 10, uint64(block.timestamp + 7 days)));
    }

    function _createAs(address who, Bounties.BountyParams memory p) internal returns (uint256 id) {
        token.mint(who, p.budget);
        vm.startPrank(who);
        token.approve(address(bounties), p.budget);
        id = bounties.createBounty(p);
        vm.stopPrank();
    }

    function _join(uint256 id, address who, uint256 stake) internal {
        token.mint(who, stake);
        vm.startPrank(who);
        token.approve(address(bounties), stake);
        bounties.join(id, stake);
        vm.stopPrank();
    }

    function _pack(address[] memory accounts, uint256[] memory rewards) internal pure returns (uint256[] memory p) {
        p = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) p[i] = (uint256(uint160(accounts[i])) << 96) | rewards[i];
    }

    function _leaves(Batch memory b) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](b.accounts.length);
        for (uint256 i; i < leaves.length; ++i) {
            leaves[i] = keccak256(abi.encode(i, b.accounts[i], b.commitments[i], b.scores[i], b.rewards[i]));
        }
    }

    function _record(uint256 id, Batch memory b) internal returns (bytes32 root) {
        vm.prank(coordinator);
        root = bounties.recordRound(
            id, b.round, keccak256(abi.encode("model", b.round)), _pack(b.accounts, b.rewards), b.commitments, b.scores
        );
    }

    function _leaf(Batch memory b, uint256 i) internal pure returns (Bounties.Contribution memory c) {
        c = Bounties.Contribution({
            round: b.round,
            index: i,
            account: b.accounts[i],
            commitment: b.commitments[i],
            score: b.scores[i],
            reward: b.rewards[i],
            proof: Tree.proof(_leaves(b), i)
        });
    }

    function _one(Bounties.Contribution memory c) internal pure returns (Bounties.Contribution[] memory a) {
        a = new Bounties.Contribution[](1);
        a[0] = c;
    }

    /// @dev A batch of `n` contributors `base+1 .. base+n` with the given total reward split evenly.
    function _batch(uint256 round, uint256 n, uint256 base, uint256 total) internal pure returns (Batch memory b) {
        b.round = round;
        b.accounts = new address[](n);
        b.commitments = new bytes32[](n);
        b.scores = new int256[](n);
        b.rewards = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            b.accounts[i] = address(uint160(base + i + 1));
            b.commitments[i] = keccak256(abi.encode(round, i));
            b.scores[i] = int256(1e18 + i);
            b.rewards[i] = total / n;
        }
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", _str(a), " != ", _str(b)));
    }

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) revert(what);
    }

    function _str(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory s;
        while (v != 0) {
            s = abi.encodePacked(bytes1(uint8(48 + (v % 10))), s);
            v /= 10;
        }
        return string(s);
    }
}
