// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Base, Batch, Tree} from "./Base.sol";
import {Bounties} from "../src/Bounties.sol";

contract BountiesTest is Base {
    uint256 internal id;

    function setUp() public {
        _deploy();
        id = _create(3_000, 3);
        for (uint256 i = 1; i <= 4; ++i) _join(id, address(uint160(i)), 10);
    }

    function test_createEscrowsBudget() public view {
        Bounties.Bounty memory b = bounties.getBounty(id);
        assertEq(b.deposited, 3_000, "deposited");
        assertEq(b.roundBudget, 1_000, "round budget");
        assertEq(token.balanceOf(address(bounties)), 3_000 + 40, "escrow balance");
        assertTrue(b.sponsor == sponsor && b.coordinator == coordinator, "roles");
    }

    function test_createRejectsBadParams() public {
        Bounties.BountyParams memory p = _params(100, 0, 1, 0, uint64(block.timestamp + 1));
        vm.expectRevert(Bounties.InvalidParams.selector);
        bounties.createBounty(p);
        p = _params(100, 1, 1, 0, uint64(block.timestamp));
        vm.expectRevert(Bounties.InvalidParams.selector);
        bounties.createBounty(p);
    }

    function test_recordClaimRefund() public {
        Batch memory b = _batch(1, 4, 0, 1_000);
        bytes32 root = _record(id, b);
        assertTrue(root == Tree.root(_leaves(b)), "root matches the off-chain tree");
        assertEq(bounties.claimable(id), 1_000, "claimable");
        for (uint256 i; i < 4; ++i) {
            uint256 paid = bounties.claim(id, _one(_leaf(b, i)));
            assertEq(paid, 250, "paid");
            assertEq(token.balanceOf(b.accounts[i]), 250, "balance");
            assertTrue(bounties.isClaimed(id, 1, i), "claimed bit");
        }
        assertEq(bounties.claimable(id), 0, "nothing left to claim");
        vm.warp(block.timestamp + 8 days);
        assertEq(bounties.refund(id), 2_000, "refund");
        assertEq(token.balanceOf(sponsor), 2_000, "sponsor balance");
        vm.expectRevert(Bounties.NothingToRefund.selector);
        bounties.refund(id);
    }

    function test_claimSeveralRoundsAtOnce() public {
        Batch memory r1 = _batch(1, 4, 0, 1_000);
        Batch memory r2 = _batch(2, 3, 0, 900);
        _record(id, r1);
        _record(id, r2);
        Bounties.Contribution[] memory leaves = new Bounties.Contribution[](2);
        leaves[0] = _leaf(r1, 2);
        leaves[1] = _leaf(r2, 2);
        assertEq(bounties.claim(id, leaves), 550, "two rounds");
        vm.expectRevert(abi.encodeWithSelector(Bounties.AlreadyClaimed.selector, 1, 2));
        bounties.claim(id, _one(_leaf(r1, 2)));
    }

    function test_claimRejectsForgedLeaf() public {
        Batch memory b = _batch(1, 4, 0, 1_000);
        _record(id, b);
        Bounties.Contribution memory c = _leaf(b, 1);
        c.reward = 251;
        vm.expectRevert(abi.encodeWithSelector(Bounties.InvalidProof.selector, 1, 1));
        bounties.claim(id, _one(c));
        c = _leaf(b, 1);
        c.account = address(0xBAD);
        vm.expectRevert(abi.encodeWithSelector(Bounties.InvalidProof.selector, 1, 1));
        bounties.claim(id, _one(c));
        c = _leaf(b, 1);
        c.round = 2;
        vm.expectRevert(abi.encodeWithSelector(Bounties.RoundNotRecorded.selector, id, 2));
        bounties.claim(id, _one(c));
    }

    function test_claimRejectsMixedAccounts() public {
        Batch memory b = _batch(1, 4, 0, 1_000);
        _record(id, b);
        Bounties.Contribution[] memory leaves = new Bounties.Contribution[](2);
        leaves[0] = _leaf(b, 0);
        leaves[1] = _leaf(b, 1);
        vm.expectRevert(abi.encodeWithSelector(Bounties.AccountMismatch.selector, b.accounts[0], b.accounts[1]));
        bounties.claim(id, leaves);
    }

    function test_onlyCoordinatorRecords() public {
        Batch memory b = _batch(1, 4, 0, 1_000);
        vm.prank(sponsor);
        vm.expectRevert(abi.encodeWithSelector(Bounties.NotCoordinator.selector, id, sponsor));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);
    }

    function test_roundRecordedExactlyOnce() public {
        Batch memory b = _batch(1, 4, 0, 1_000);
        _record(id, b);
        vm.prank(coordinator);
        vm.expectRevert(abi.encodeWithSelector(Bounties.RoundAlreadyRecorded.selector, id, 1));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);
    }

    function test_recordRejects() public {
        Batch memory b = _batch(4, 4, 0, 1_000);
        vm.startPrank(coordinator);
        vm.expectRevert(abi.encodeWithSelector(Bounties.RoundOutOfRange.selector, id, 4));
        bounties.recordRound(id, 4, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);
        vm.expectRevert(abi.encodeWithSelector(Bounties.RoundOutOfRange.selector, id, 0));
        bounties.recordRound(id, 0, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);

        b = _batch(1, 4, 0, 1_000);
        bytes32[] memory three = new bytes32[](3);
        vm.expectRevert(abi.encodeWithSelector(Bounties.LengthMismatch.selector, 4, 3, 4));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), three, b.scores);

        b.rewards[3] += 1;
        vm.expectRevert(abi.encodeWithSelector(Bounties.OverBudget.selector, 1_001, 1_000));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);

        b = _batch(1, 5, 0, 1_000);
        vm.expectRevert(abi.encodeWithSelector(Bounties.NotParticipant.selector, id, address(5)));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);

        b = _batch(1, 4, 0, 1_000);
        b.scores[2] = -1;
        vm.expectRevert(abi.encodeWithSelector(Bounties.RewardForNegativeScore.selector, address(3)));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);

        b = _batch(1, 0, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(Bounties.TooFewContributors.selector, 0, 1));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);

        vm.warp(block.timestamp + 8 days);
        b = _batch(1, 4, 0, 1_000);
        vm.expectRevert(abi.encodeWithSelector(Bounties.AfterDeadline.selector, id, block.timestamp - 1 days));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(Bounties.UnknownBounty.selector, 99));
        bounties.recordRound(99, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);
    }

    function test_minParticipants() public {
        uint256 big = _createAs(sponsor, _params(100, 1, 3, 0, uint64(block.timestamp + 1 days)));
        _join(big, address(1), 0);
        _join(big, address(2), 0);
        Batch memory b = _batch(1, 2, 0, 100);
        vm.prank(coordinator);
        vm.expectRevert(abi.encodeWithSelector(Bounties.TooFewContributors.selector, 2, 3));
        bounties.recordRound(big, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);
    }

    function test_joinRules() public {
        vm.expectRevert(abi.encodeWithSelector(Bounties.StakeTooLow.selector, 9, 10));
        bounties.join(id, 9);
        token.mint(address(1), 10);
        vm.startPrank(address(1));
        token.approve(address(bounties), 10);
        vm.expectRevert(abi.encodeWithSelector(Bounties.AlreadyJoined.selector, id, address(1)));
        bounties.join(id, 10);
        vm.stopPrank();
    }

    function test_slashNegativeContribution() public {
        Batch memory b = _batch(1, 4, 0, 900);
        b.scores[3] = -5;
        b.rewards[3] = 0;
        _record(id, b);
        vm.expectRevert(abi.encodeWithSelector(Bounties.NotCoordinator.selector, id, address(this)));
        bounties.slash(id, _leaf(b, 3), 4);
        vm.startPrank(coordinator);
        vm.expectRevert(abi.encodeWithSelector(Bounties.NotNegative.selector, b.scores[0]));
        bounties.slash(id, _leaf(b, 0), 4);
        vm.expectRevert(abi.encodeWithSelector(Bounties.InvalidSlashAmount.selector, 11, 10));
        bounties.slash(id, _leaf(b, 3), 11);
        bounties.slash(id, _leaf(b, 3), 4);
        vm.expectRevert(abi.encodeWithSelector(Bounties.AlreadySlashed.selector, 1, 3));
        bounties.slash(id, _leaf(b, 3), 1);
        vm.stopPrank();
        (uint256 stake,) = bounties.stakeOf(id, address(4));
        assertEq(stake, 6, "stake after slash");
        assertEq(bounties.getBounty(id).deposited, 3_004, "slash joins the escrow");

        vm.warp(block.timestamp + 8 days);
        vm.prank(address(4));
        assertEq(bounties.withdrawStake(id), 6, "withdraw rest");
        vm.prank(address(4));
        vm.expectRevert(Bounties.NothingToWithdraw.selector);
        bounties.withdrawStake(id);
        assertEq(bounties.refund(id), 3_004 - 675, "refund includes the slash");
    }

    function test_stakeLockedUntilDeadline() public {
        vm.prank(address(1));
        vm.expectRevert(abi.encodeWithSelector(Bounties.BeforeDeadline.selector, id, block.timestamp + 7 days));
        bounties.withdrawStake(id);
    }

    function test_refundEarlyOnceAllRoundsRecorded() public {
        vm.expectRevert(abi.encodeWithSelector(Bounties.BeforeDeadline.selector, id, block.timestamp + 7 days));
        bounties.refund(id);
        _record(id, _batch(1, 4, 0, 1_000));
        _record(id, _batch(2, 4, 0, 600));
        _record(id, _batch(3, 4, 0, 400));
        assertEq(bounties.refund(id), 1_000, "unallocated");
    }

    /// Any batch within the round budget records, and every contribution claims exactly its reward.
    function testFuzz_recordAndClaimAll(uint8 n, uint256 seed) public {
        n = uint8(1 + (n % 40));
        uint256 fuzzId = _createAs(sponsor, _params(type(uint96).max, 2, 1, 0, uint64(block.timestamp + 1 days)));
        Batch memory b = _batch(1, n, 1000, 0);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            _join(fuzzId, b.accounts[i], 0);
            uint256 r = uint256(keccak256(abi.encode(seed, i))) % (type(uint96).max / 2 / n);
            b.rewards[i] = r;
            b.scores[i] = int256(r);
            total += r;
        }
        _record(fuzzId, b);
        assertEq(bounties.getBounty(fuzzId).allocated, total, "allocated");
        for (uint256 i; i < n; ++i) {
            if (b.rewards[i] == 0) continue;
            assertEq(bounties.claim(fuzzId, _one(_leaf(b, i))), b.rewards[i], "claim");
        }
        assertEq(bounties.claimable(fuzzId), 0, "all claimed");
    }

    /// A batch over the round budget never records.
    function testFuzz_overBudgetRejected(uint96 extra) public {
        vm.assume(extra > 0 && extra < type(uint96).max - 1_000);
        Batch memory b = _batch(1, 4, 0, 1_000);
        b.rewards[0] += extra;
        vm.prank(coordinator);
        vm.expectRevert(abi.encodeWithSelector(Bounties.OverBudget.selector, 1_000 + uint256(extra), 1_000));
        bounties.recordRound(id, 1, bytes32(0), _pack(b.accounts, b.rewards), b.commitments, b.scores);
    }

    /// Any tampering with a leaf field fails the proof.
    function testFuzz_tamperedLeafRejected(uint256 index, uint256 delta) public {
        vm.assume(delta != 0);
        Batch memory b = _batch(1, 4, 0, 1_000);
        _record(id, b);
        Bounties.Contribution memory c = _leaf(b, index % 4);
        unchecked {
            c.commitment = bytes32(uint256(c.commitment) + delta);
        }
        vm.expectRevert(abi.encodeWithSelector(Bounties.InvalidProof.selector, 1, index % 4));
        bounties.claim(id, _one(c));
    }

    function test_joinClosesAtDeadline() public {
        vm.warp(block.timestamp + 7 days + 1);
        vm.expectRevert(abi.encodeWithSelector(Bounties.AfterDeadline.selector, id, block.timestamp - 1));
        bounties.join(id, 10);
    }

    function test_fundWithPermit() public {
        uint256 key = 0xA11CE;
        address owner = vm.addr(key);
        token.mint(owner, 500);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                address(bounties),
                500,
                token.nonces(owner),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        token.permit(owner, address(bounties), 500, deadline, v, r, s);
        assertEq(token.allowance(owner, address(bounties)), 500, "allowance from permit");
        vm.prank(owner);
        uint256 funded = bounties.createBounty(_params(500, 1, 1, 0, uint64(block.timestamp + 1 days)));
        assertEq(bounties.getBounty(funded).deposited, 500, "funded");
    }
}
