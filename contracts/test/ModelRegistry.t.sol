// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Base, Batch} from "./Base.sol";
import {Bounties} from "../src/Bounties.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

contract ModelRegistryTest is Base {
    uint256 internal id;
    Batch internal r1;
    Batch internal r2;
    address internal buyer = address(0xB0B);

    function setUp() public {
        _deploy();
        id = _create(3_000, 2);
        for (uint256 i = 1; i <= 3; ++i) _join(id, address(uint160(i)), 10);
        r1 = _batch(1, 3, 0, 900); // 300 each
        r2 = _batch(2, 2, 0, 1_000); // 500 to 1 and 2
        _record(id, r1);
    }

    function _buy(address who, uint256 price) internal {
        token.mint(who, price);
        vm.startPrank(who);
        token.approve(address(registry), price);
        registry.buyLicence(id);
        vm.stopPrank();
    }

    function test_onlySponsorSetsTerms() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotSponsor.selector, id, address(this)));
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Open, IERC20(address(0)), 0);
        vm.startPrank(sponsor);
        vm.expectRevert(ModelRegistry.InvalidLicence.selector);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Paid, IERC20(address(token)), 0);
        vm.expectRevert(ModelRegistry.InvalidLicence.selector);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Open, IERC20(address(token)), 5);
        vm.stopPrank();
    }

    function test_publishVersions() public {
        vm.expectRevert(abi.encodeWithSelector(Bounties.NotCoordinator.selector, id, address(this)));
        registry.publishVersion(id, 1, keccak256("w1"), "ipfs://w1");
        vm.startPrank(coordinator);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.VersionOutOfOrder.selector, 1, 2));
        registry.publishVersion(id, 2, keccak256("w2"), "ipfs://w2");
        vm.expectRevert(ModelRegistry.InvalidArtifactHash.selector);
        registry.publishVersion(id, 1, bytes32(0), "ipfs://w1");
        registry.publishVersion(id, 1, keccak256("w1"), "ipfs://w1");
        registry.publishVersion(id, 2, keccak256("w2"), "ipfs://w2");
        vm.stopPrank();
        assertEq(registry.latestVersion(id), 2, "latest");
        ModelRegistry.Version memory v = registry.getVersion(id, 2);
        assertTrue(v.artifactHash == keccak256("w2") && keccak256(bytes(v.uri)) == keccak256("ipfs://w2"), "stored");
    }

    function test_contributorsOnlyByDefault() public {
        assertTrue(!registry.hasLicence(id, address(1)), "contributor before its proof");
        registry.claimContributorLicence(id, _leaf(r1, 0));
        assertTrue(registry.hasLicence(id, address(1)), "contributor");
        assertTrue(registry.hasLicence(id, sponsor), "sponsor");
        assertTrue(!registry.hasLicence(id, buyer), "stranger");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotForSale.selector, id));
        registry.buyLicence(id);
        vm.prank(sponsor);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Open, IERC20(address(0)), 0);
        assertTrue(registry.hasLicence(id, buyer), "open");
    }

    function test_joiningWithStakeZeroGrantsNoLicence() public {
        address joiner = address(0x51);
        _join(id, joiner, 10); // the bounty's minimum stake, but no recorded reward
        uint256 free = _createAs(sponsor, _params(100, 1, 1, 0, uint64(block.timestamp + 1 days)));
        _join(free, joiner, 0);
        vm.prank(sponsor);
        registry.setLicenceTerms(free, ModelRegistry.LicenceKind.Paid, IERC20(address(token)), 10);
        assertTrue(bounties.isParticipant(free, joiner) && bounties.isParticipant(id, joiner), "joined");
        assertTrue(!registry.hasLicence(free, joiner), "stake 0, paid model");
        assertTrue(!registry.hasLicence(id, joiner), "staked, no reward");
        assertTrue(registry.hasLicence(free, sponsor) && registry.hasLicence(id, sponsor), "sponsor");
    }

    function test_rewardedContributorClaimsLicenceWithProof() public {
        vm.prank(sponsor);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Paid, IERC20(address(token)), 1_000);
        Bounties.Contribution memory c = _leaf(r1, 2);
        vm.expectEmit(address(registry));
        emit ModelRegistry.ContributorLicensed(id, address(3), 1, 2);
        vm.prank(buyer); // anyone may submit; the licence goes to the leaf's account
        registry.claimContributorLicence(id, c);
        assertTrue(registry.hasLicence(id, address(3)), "licensed");
        assertTrue(!registry.hasLicence(id, buyer), "not the submitter");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyLicensed.selector, id, address(3)));
        registry.claimContributorLicence(id, c);
        // a contributor's licence is final: it holds whatever the terms become
        vm.prank(sponsor);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.ContributorsOnly, IERC20(address(0)), 0);
        assertTrue(registry.hasLicence(id, address(3)), "still licensed");
    }

    function test_forgedOrUnrewardedLeafGetsNoLicence() public {
        // a joiner forges a leaf of its own with a reward
        address joiner = address(0x51);
        _join(id, joiner, 10);
        Bounties.Contribution memory forged = _leaf(r1, 0);
        forged.account = joiner;
        vm.expectRevert(abi.encodeWithSelector(Bounties.InvalidProof.selector, 1, 0));
        registry.claimContributorLicence(id, forged);
        // a real leaf with its reward raised
        Bounties.Contribution memory raised = _leaf(r1, 1);
        raised.reward += 1;
        vm.expectRevert(abi.encodeWithSelector(Bounties.InvalidProof.selector, 1, 1));
        registry.claimContributorLicence(id, raised);
        // a recorded contribution that earned nothing (score recorded, reward 0)
        Batch memory r = _batch(2, 2, 0, 1_000);
        r.accounts[1] = joiner;
        r.rewards[1] = 0;
        r.scores[1] = -1;
        _record(id, r);
        Bounties.Contribution memory unpaid = _leaf(r, 1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NoReward.selector, 2, 1));
        registry.claimContributorLicence(id, unpaid);
        // an unrecorded round
        Bounties.Contribution memory early = _leaf(r2, 0);
        early.round = 3;
        vm.expectRevert(abi.encodeWithSelector(Bounties.RoundNotRecorded.selector, id, 3));
        registry.claimContributorLicence(id, early);
        assertTrue(!registry.hasLicence(id, joiner), "no licence");
    }

    function test_revenueClaimGrantsTheContributorsLicence() public {
        _record(id, r2);
        vm.prank(sponsor);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Paid, IERC20(address(token)), 1_000);
        _buy(buyer, 1_000);
        assertTrue(!registry.hasLicence(id, address(2)), "before");
        vm.expectEmit(address(registry));
        emit ModelRegistry.ContributorLicensed(id, address(2), 1, 1);
        registry.claimRevenue(id, IERC20(address(token)), _one(_leaf(r1, 1)));
        assertTrue(registry.hasLicence(id, address(2)), "after");
        // a later revenue claim of a licensed contributor still pays
        _buy(address(0xCAFE), 1_000);
        assertEq(registry.claimRevenue(id, IERC20(address(token)), _one(_leaf(r2, 1))), 526, "second claim");
    }

    function test_paidLicenceSplitsRevenueByRewards() public {
        vm.prank(sponsor);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Paid, IERC20(address(token)), 1_000);
        token.mint(buyer, 1_000);
        vm.startPrank(buyer);
        token.approve(address(registry), 1_000);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotSettled.selector, id));
        registry.buyLicence(id);
        vm.stopPrank();

        _record(id, r2); // allocated: 900 + 1000 = 1900
        _buy(buyer, 1_000);
        assertTrue(registry.hasLicence(id, buyer), "licensed");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyLicensed.selector, id, buyer));
        registry.buyLicence(id);

        // account 1: 300 (round 1) + 500 (round 2) of 1900 -> floor(300000/1900) + floor(500000/1900)
        Bounties.Contribution[] memory leaves = new Bounties.Contribution[](2);
        leaves[0] = _leaf(r1, 0);
        leaves[1] = _leaf(r2, 0);
        uint256 got = registry.claimRevenue(id, IERC20(address(token)), leaves);
        assertEq(got, 157 + 263, "share of account 1");
        vm.expectRevert(Bounties.NothingToClaim.selector);
        registry.claimRevenue(id, IERC20(address(token)), leaves);

        // a second sale adds to every share
        _buy(address(0xCAFE), 1_000);
        assertEq(registry.claimRevenue(id, IERC20(address(token)), leaves), 158 + 263, "second sale share");
        // account 3 (round 1 only)
        assertEq(registry.claimRevenue(id, IERC20(address(token)), _one(_leaf(r1, 2))), 315, "share of account 3");
    }

    function test_revenueClaimNeedsValidLeaf() public {
        _record(id, r2);
        vm.prank(sponsor);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Paid, IERC20(address(token)), 1_000);
        _buy(buyer, 1_000);
        Bounties.Contribution memory c = _leaf(r1, 0);
        c.reward = 900;
        Bounties.Contribution[] memory leaves = _one(c);
        vm.expectRevert(abi.encodeWithSelector(Bounties.InvalidProof.selector, 1, 0));
        registry.claimRevenue(id, IERC20(address(token)), leaves);
    }

    function test_ratingOncePerVersionByLicensees() public {
        vm.prank(coordinator);
        registry.publishVersion(id, 1, keccak256("w1"), "ipfs://w1");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InvalidRating.selector, 6));
        registry.rate(id, 1, 6);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownVersion.selector, id, 2));
        registry.rate(id, 2, 5);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NoLicence.selector, id, buyer));
        registry.rate(id, 1, 5);
        vm.prank(address(1)); // joined and rewarded, but the licence is not claimed yet
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NoLicence.selector, id, address(1)));
        registry.rate(id, 1, 4);
        registry.claimContributorLicence(id, _leaf(r1, 0));
        registry.claimContributorLicence(id, _leaf(r1, 1));
        vm.startPrank(address(1));
        registry.rate(id, 1, 4);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyRated.selector, id, 1, address(1)));
        registry.rate(id, 1, 5);
        vm.stopPrank();
        vm.prank(address(2));
        registry.rate(id, 1, 1);
        ModelRegistry.Version memory v = registry.getVersion(id, 1);
        assertEq(v.ratingCount, 2, "count");
        assertEq(v.ratingSum, 5, "sum");
    }

    /// Whatever the sales, the contributors' revenue claims never exceed the revenue.
    function testFuzz_revenueSharesNeverExceedRevenue(uint64 price, uint8 sales) public {
        vm.assume(price > 0);
        sales = uint8(1 + (sales % 4));
        _record(id, r2);
        vm.prank(sponsor);
        registry.setLicenceTerms(id, ModelRegistry.LicenceKind.Paid, IERC20(address(token)), price);
        uint256 paidOut;
        for (uint256 s; s < sales; ++s) {
            _buy(address(uint160(0xB000 + s)), price);
            for (uint256 i; i < 3; ++i) paidOut += _tryClaim(_one(_leaf(r1, i)));
            for (uint256 i; i < 2; ++i) paidOut += _tryClaim(_one(_leaf(r2, i)));
        }
        uint256 revenue = registry.revenueOf(id, IERC20(address(token)));
        assertEq(revenue, uint256(price) * sales, "revenue");
        assertTrue(paidOut <= revenue, "never more than the revenue");
        assertTrue(revenue - paidOut < 5 * sales + 5, "rounding dust only");
        assertEq(token.balanceOf(address(registry)), revenue - paidOut, "registry balance");
    }

    function _tryClaim(Bounties.Contribution[] memory leaves) internal returns (uint256) {
        try registry.claimRevenue(id, IERC20(address(token)), leaves) returns (uint256 got) {
            return got;
        } catch {
            return 0;
        }
    }

    function test_unknownBounty() public {
        vm.expectRevert(abi.encodeWithSelector(Bounties.UnknownBounty.selector, 42));
        registry.publishVersion(42, 1, keccak256("w"), "u");
        vm.expectRevert(abi.encodeWithSelector(Bounties.UnknownBounty.selector, 42));
        registry.setLicenceTerms(42, ModelRegistry.LicenceKind.Open, IERC20(address(0)), 0);
    }

    function test_noSaleWithoutRewards() public {
        uint256 empty = _createAs(sponsor, _params(100, 1, 1, 0, uint64(block.timestamp + 1 days)));
        vm.prank(sponsor);
        registry.setLicenceTerms(empty, ModelRegistry.LicenceKind.Paid, IERC20(address(token)), 10);
        vm.warp(block.timestamp + 2 days);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NoRewardsToSplit.selector, empty));
        registry.buyLicence(empty);
    }
}
