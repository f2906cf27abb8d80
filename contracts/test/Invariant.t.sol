// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Base, Batch} from "./Base.sol";
import {Bounties} from "../src/Bounties.sol";
import {RewardToken} from "../src/RewardToken.sol";

/// @dev Drives two bounties that share a token through random sequences of every call.
contract Handler is Base {
    uint256 internal constant ACTORS = 5;
    uint256 internal constant ROUNDS = 4;
    uint256[2] public ids;
    mapping(uint256 bountyId => mapping(uint256 round => uint256[] rewards)) internal _rewards;
    mapping(uint256 bountyId => mapping(uint256 round => int256[] scores)) internal _scores;
    mapping(uint256 bountyId => mapping(uint256 round => uint256)) public timesRecorded;
    mapping(uint256 bountyId => mapping(uint256 round => uint256)) public recordedTotal;
    uint256 public claimedByActors;
    uint256 public stakesWithdrawn;
    uint256 public stakesPaidIn;

    uint256 public slashedTotal;
    uint256 public claims;
    uint256 public slashes;
    uint256 public refunds;

    constructor(Bounties bounties_) {
        bounties = bounties_;
        token = new RewardToken(address(this), 0);
        for (uint256 k; k < 2; ++k) {
            ids[k] = _createAs(sponsor, _params(uint128(1_000_000 * (k + 1)), uint16(ROUNDS), 2, 100, uint64(block.timestamp + 30 days)));
            for (uint256 a = 1; a <= ACTORS; ++a) {
                _join(ids[k], _actor(a), 100 + a);
                stakesPaidIn += 100 + a;
            }
        }
    }

    function record(uint256 which, uint256 round, uint256 n, uint256 seed, bool overspend) external {
        uint256 id = ids[which % 2];
        round = 1 + (round % (ROUNDS + 1)); // sometimes out of range
        n = 2 + (n % (ACTORS - 1));
        Batch memory b = _batchFor(id, round, n, seed, overspend);
        vm.prank(coordinator);
        try bounties.recordRound(id, round, keccak256("m"), _pack(b.accounts, b.rewards), b.commitments, b.scores) {
            timesRecorded[id][round] += 1;
            uint256 total;
            for (uint256 i; i < n; ++i) total += b.rewards[i];
            recordedTotal[id][round] = total;
            _rewards[id][round] = b.rewards;
            _scores[id][round] = b.scores;
        } catch {}
    }

    function claim(uint256 which, uint256 round, uint256 index) external {
        uint256 id = ids[which % 2];
        round = 1 + (round % ROUNDS);
        uint256 n = _rewards[id][round].length;
        if (n == 0) return;
        Bounties.Contribution memory c = _leaf(_stored(id, round), index % n);
        try bounties.claim(id, _one(c)) returns (uint256 paid) {
            claimedByActors += paid;
            claims += 1;
        } catch {}
    }

    function slash(uint256 which, uint256 round, uint256 index, uint256 amount) external {
        uint256 id = ids[which % 2];
        round = 1 + (round % ROUNDS);
        uint256 n = _rewards[id][round].length;
        if (n == 0) return;
        Bounties.Contribution memory c = _leaf(_stored(id, round), index % n);
        vm.prank(coordinator);
        amount = amount % 120;
        try bounties.slash(id, c, amount) {
            slashedTotal += amount;
            slashes += 1;
        } catch {}
    }

    function refund(uint256 which) external {
        try bounties.refund(ids[which % 2]) {
            refunds += 1;
        } catch {}
    }

    function withdraw(uint256 which, uint256 actor) external {
        vm.prank(_actor(1 + (actor % ACTORS)));
        try bounties.withdrawStake(ids[which % 2]) returns (uint256 amount) {
            stakesWithdrawn += amount;
        } catch {}
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + (dt % 10 days));
    }

    function tokenContract() external view returns (RewardToken) {
        return token;
    }

    function _actor(uint256 a) internal pure returns (address) {
        return address(uint160(0xA000 + a));
    }

    function _batchFor(uint256 id, uint256 round, uint256 n, uint256 seed, bool overspend)
        internal
        view
        returns (Batch memory b)
    {
        b.round = round;
        b.accounts = new address[](n);
        b.commitments = new bytes32[](n);
        b.scores = new int256[](n);
        b.rewards = new uint256[](n);
        uint256 share = bounties.getBounty(id).roundBudget / n;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            b.accounts[i] = _actor(1 + i);
            b.commitments[i] = keccak256(abi.encode(id, round, i));
            if (r % 5 == 0) {
                b.scores[i] = -int256(r % 1000) - 1;
            } else {
                b.scores[i] = int256(r % 1000);
                b.rewards[i] = overspend ? share + 1 : r % (share + 1);
            }
        }
    }

    function _stored(uint256 id, uint256 round) internal view returns (Batch memory b) {
        uint256 n = _rewards[id][round].length;
        b.round = round;
        b.accounts = new address[](n);
        b.commitments = new bytes32[](n);
        b.scores = _scores[id][round];
        b.rewards = _rewards[id][round];
        for (uint256 i; i < n; ++i) {
            b.accounts[i] = _actor(1 + i);
            b.commitments[i] = keccak256(abi.encode(id, round, i));
        }
    }
}

contract InvariantTest is Base {
    Handler internal handler;

    function setUp() public {
        bounties = new Bounties();
        handler = new Handler(bounties);
        token = handler.tokenContract();
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// paid + claimable == allocated and allocated + refunded <= deposited, for every bounty.
    function invariant_escrowNeverOverspends() public view {
        for (uint256 k; k < 2; ++k) {
            Bounties.Bounty memory b = bounties.getBounty(handler.ids(k));
            assertTrue(b.paid <= b.allocated, "paid <= allocated");
            assertEq(bounties.claimable(handler.ids(k)) + b.paid, b.allocated, "claimable + paid");
            assertTrue(uint256(b.allocated) + b.refunded <= b.deposited, "allocated + refunded <= deposited");
        }
    }

    /// The escrow holds exactly what it owes: unspent budgets plus remaining stakes.
    function invariant_balanceCoversObligations() public view {
        uint256 owed;
        for (uint256 k; k < 2; ++k) {
            Bounties.Bounty memory b = bounties.getBounty(handler.ids(k));
            owed += uint256(b.deposited) - b.paid - b.refunded;
        }
        uint256 staked = handler.stakesPaidIn() - handler.stakesWithdrawn() - handler.slashedTotal();
        assertEq(token.balanceOf(address(bounties)), owed + staked, "escrow balance");
        assertEq(token.balanceOf(address(bounties)) + handler.claimedByActors() + handler.stakesWithdrawn()
            + token.balanceOf(sponsor), token.totalSupply(), "no token appears or vanishes");
    }

    /// Each round is recorded at most once and pays at most its budget.
    function invariant_roundsOnceWithinBudget() public view {
        for (uint256 k; k < 2; ++k) {
            uint256 id = handler.ids(k);
            uint256 budget = bounties.getBounty(id).roundBudget;
            for (uint256 r = 1; r <= 5; ++r) {
                assertTrue(handler.timesRecorded(id, r) <= 1, "recorded once");
                assertTrue(handler.recordedTotal(id, r) <= budget, "within round budget");
                assertTrue(r <= 4 || handler.timesRecorded(id, r) == 0, "no round beyond the last");
            }
        }
    }
}
