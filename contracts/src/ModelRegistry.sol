// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Bounties} from "./Bounties.sol";

/// @title ModelRegistry: published model versions, licences, revenue split and ratings
/// @notice A bounty's model is published version by version (artifact hash + uri) by the
/// bounty's coordinator. The sponsor sets its licence terms: contributors-only (the default),
/// open, or paid in a token. The sponsor always holds a licence; a contributor holds one once it
/// has proven a recorded contribution with a reward (`claimContributorLicence`, or any revenue
/// claim that pays it): joining the bounty is not enough, since anyone may join with stake 0.
/// Proving a leaf keeps the ledger free of per-contributor storage: `recordRound` stores nothing
/// for the licence, and only contributors who want the model pay one storage slot. The price of
/// a paid licence is split among contributors in proportion to their rewards in the bounty:
/// a contribution with reward w is owed floor(w * revenue / allocated) of every token's
/// revenue, pulled with the same Merkle proof as the reward itself. Licences are sold only once
/// the bounty's allocations are final (deadline passed or all rounds recorded), so the shares
/// never change after a sale. Licensees rate each version once, 1 to 5 stars.
contract ModelRegistry is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum LicenceKind {
        ContributorsOnly,
        Open,
        Paid
    }

    struct Licence {
        LicenceKind kind;
        IERC20 token;
        uint128 price;
    }

    struct Version {
        bytes32 artifactHash;
        uint64 publishedAt;
        uint32 ratingCount;
        uint32 ratingSum;
        string uri;
    }

    /// @notice The bounties whose models this registry holds.
    Bounties public immutable bounties;

    mapping(uint256 bountyId => Licence) private _licences;
    mapping(uint256 bountyId => uint256) public latestVersion;
    mapping(uint256 bountyId => mapping(uint256 version => Version)) private _versions;
    /// @dev Licences bought or claimed by contributors (the sponsor's and open ones are implied).
    mapping(uint256 bountyId => mapping(address account => bool)) private _licensed;
    mapping(uint256 bountyId => mapping(uint256 version => mapping(address rater => bool))) private _rated;
    mapping(uint256 bountyId => mapping(IERC20 token => uint256)) private _revenue;
    mapping(bytes32 contributionKey => uint256) private _revenueWithdrawn;

    event LicenceTermsSet(uint256 indexed bountyId, LicenceKind kind, address token, uint256 price);
    event ModelPublished(uint256 indexed bountyId, uint256 indexed version, bytes32 artifactHash, string uri);
    event LicencePurchased(uint256 indexed bountyId, address indexed licensee, address indexed token, uint256 amount);
    /// @notice A contributor's licence, granted for its rewarded contribution `index` of `round`.
    event ContributorLicensed(uint256 indexed bountyId, address indexed account, uint256 round, uint256 index);
    event RevenueClaimed(
        uint256 indexed bountyId, address indexed account, address indexed token, uint256 round, uint256 index, uint256 amount
    );
    event Rated(uint256 indexed bountyId, uint256 indexed version, address indexed rater, uint8 stars);

    error NotSponsor(uint256 bountyId, address caller);
    error InvalidLicence();
    error NotForSale(uint256 bountyId);
    error AlreadyLicensed(uint256 bountyId, address account);
    error NotSettled(uint256 bountyId);
    error NoRewardsToSplit(uint256 bountyId);
    error NoReward(uint256 round, uint256 index);
    error VersionOutOfOrder(uint256 expected, uint256 version);
    error InvalidArtifactHash();
    error UnknownVersion(uint256 bountyId, uint256 version);
    error NoLicence(uint256 bountyId, address account);
    error InvalidRating(uint8 stars);
    error AlreadyRated(uint256 bountyId, uint256 version, address rater);

    constructor(Bounties bounties_) {
        bounties = bounties_;
    }

    /// @notice Sets the licence terms of a bounty's model. Only the sponsor.
    /// @param token payment token (paid licences only, else zero).
    /// @param price licence price in `token` (paid licences only, else zero).
    function setLicenceTerms(uint256 bountyId, LicenceKind kind, IERC20 token, uint128 price) external {
        Bounties.Bounty memory b = bounties.getBounty(bountyId);
        if (msg.sender != b.sponsor) revert NotSponsor(bountyId, msg.sender);
        bool paid = kind == LicenceKind.Paid;
        if (paid != (price != 0) || paid != (address(token) != address(0))) revert InvalidLicence();
        _licences[bountyId] = Licence(kind, token, price);
        emit LicenceTermsSet(bountyId, kind, address(token), price);
    }

    /// @notice Publishes the next version (1, 2, ...) of a bounty's model. Only the coordinator.
    /// @param artifactHash keccak256 of the model artifact's bytes.
    function publishVersion(uint256 bountyId, uint256 version, bytes32 artifactHash, string calldata uri) external {
        Bounties.Bounty memory b = bounties.getBounty(bountyId);
        if (msg.sender != b.coordinator) revert Bounties.NotCoordinator(bountyId, msg.sender);
        uint256 expected = latestVersion[bountyId] + 1;
        if (version != expected) revert VersionOutOfOrder(expected, version);
        if (artifactHash == 0) revert InvalidArtifactHash();
        latestVersion[bountyId] = version;
        Version storage v = _versions[bountyId][version];
        v.artifactHash = artifactHash;
        v.publishedAt = uint64(block.timestamp);
        v.uri = uri;
        emit ModelPublished(bountyId, version, artifactHash, uri);
    }

    /// @notice Buys a licence of a paid model; the price is pulled from the caller (approve
    /// first) and becomes revenue of the bounty's contributors.
    function buyLicence(uint256 bountyId) external nonReentrant returns (uint256 received) {
        Licence memory l = _licences[bountyId];
        if (l.kind != LicenceKind.Paid) revert NotForSale(bountyId);
        if (_hasLicence(bountyId, msg.sender, l.kind)) revert AlreadyLicensed(bountyId, msg.sender);
        if (!bounties.isSettled(bountyId)) revert NotSettled(bountyId);
        if (bounties.getBounty(bountyId).allocated == 0) revert NoRewardsToSplit(bountyId);
        _licensed[bountyId][msg.sender] = true;
        uint256 before = l.token.balanceOf(address(this));
        l.token.safeTransferFrom(msg.sender, address(this), l.price);
        received = l.token.balanceOf(address(this)) - before;
        _revenue[bountyId][l.token] += received;
        emit LicencePurchased(bountyId, msg.sender, address(l.token), received);
    }

    /// @notice Grants the contributors' licence to `c.account` for one recorded contribution
    /// with a reward (same leaf and proof as `Bounties.claim`; claimed or not does not matter).
    /// Anyone may submit; the licence goes to the leaf's account. A reward is final once
    /// recorded (only zero-reward contributions can be slashed), so the licence is too.
    function claimContributorLicence(uint256 bountyId, Bounties.Contribution calldata c) external {
        if (c.reward == 0) revert NoReward(c.round, c.index);
        bounties.verifyContribution(bountyId, c);
        if (_licensed[bountyId][c.account]) revert AlreadyLicensed(bountyId, c.account);
        _license(bountyId, c);
    }

    /// @notice Pays a contributor its share of the licence revenue in `token` for the given
    /// recorded contributions (same leaves and proofs as `Bounties.claim`). Anyone may submit;
    /// all leaves must belong to one account, which receives the tokens. A claim that pays
    /// anything has proven a rewarded contribution, so it also grants the contributor's licence
    /// (`ContributorLicensed`) when the account holds none yet.
    function claimRevenue(uint256 bountyId, IERC20 token, Bounties.Contribution[] calldata leaves)
        external
        nonReentrant
        returns (uint256 amount)
    {
        if (leaves.length == 0) revert Bounties.NothingToClaim();
        uint256 revenue = _revenue[bountyId][token];
        uint256 allocated = bounties.getBounty(bountyId).allocated;
        address account = leaves[0].account;
        bool licensed = _licensed[bountyId][account];
        for (uint256 i; i < leaves.length; ++i) {
            Bounties.Contribution calldata c = leaves[i];
            if (c.account != account) revert Bounties.AccountMismatch(account, c.account);
            bounties.verifyContribution(bountyId, c);
            uint256 due = _withdrawRevenue(bountyId, token, c, revenue, allocated);
            if (due != 0) {
                amount += due;
                // due != 0 implies c.reward != 0: a rewarded contribution, just proven
                if (!licensed) licensed = _license(bountyId, c);
            }
        }
        if (amount == 0) revert Bounties.NothingToClaim();
        token.safeTransfer(account, amount);
    }

    /// @notice Rates a published version, 1 to 5 stars, once per licensee and version.
    function rate(uint256 bountyId, uint256 version, uint8 stars) external {
        if (stars < 1 || stars > 5) revert InvalidRating(stars);
        Version storage v = _versions[bountyId][version];
        if (v.artifactHash == 0) revert UnknownVersion(bountyId, version);
        if (!_hasLicence(bountyId, msg.sender, _licences[bountyId].kind)) revert NoLicence(bountyId, msg.sender);
        if (_rated[bountyId][version][msg.sender]) revert AlreadyRated(bountyId, version, msg.sender);
        _rated[bountyId][version][msg.sender] = true;
        v.ratingCount += 1;
        v.ratingSum += stars;
        emit Rated(bountyId, version, msg.sender, stars);
    }

    // ---------------------------------------------------------------- views

    /// @notice Whether `account` may use the bounty's model: open terms, a bought licence, a
    /// claimed contributor's licence, or the sponsor. Joining the bounty alone grants none.
    function hasLicence(uint256 bountyId, address account) external view returns (bool) {
        return _hasLicence(bountyId, account, _licences[bountyId].kind);
    }

    /// @notice The licence terms of a bounty's model.
    function licenceTerms(uint256 bountyId) external view returns (Licence memory) {
        return _licences[bountyId];
    }

    /// @notice A published version (artifact hash zero if unknown).
    function getVersion(uint256 bountyId, uint256 version) external view returns (Version memory) {
        return _versions[bountyId][version];
    }

    /// @notice Total licence revenue of a bounty in `token`.
    function revenueOf(uint256 bountyId, IERC20 token) external view returns (uint256) {
        return _revenue[bountyId][token];
    }

    /// @notice Revenue in `token` already paid for contribution `index` of `round`.
    function revenueWithdrawn(uint256 bountyId, IERC20 token, uint256 round, uint256 index)
        external
        view
        returns (uint256)
    {
        return _revenueWithdrawn[keccak256(abi.encode(bountyId, token, round, index))];
    }

    /// @dev Records the licence of a proven, rewarded contribution's account; returns true.
    function _license(uint256 bountyId, Bounties.Contribution calldata c) private returns (bool) {
        _licensed[bountyId][c.account] = true;
        emit ContributorLicensed(bountyId, c.account, c.round, c.index);
        return true;
    }

    /// @dev Marks a proven contribution's revenue in `token` as paid up to its share; returns
    /// what was still due.
    function _withdrawRevenue(
        uint256 bountyId,
        IERC20 token,
        Bounties.Contribution calldata c,
        uint256 revenue,
        uint256 allocated
    ) private returns (uint256 due) {
        bytes32 key = keccak256(abi.encode(bountyId, token, c.round, c.index));
        uint256 owed = allocated == 0 ? 0 : Math.mulDiv(c.reward, revenue, allocated);
        due = owed - _revenueWithdrawn[key];
        if (due != 0) {
            _revenueWithdrawn[key] = owed;
            emit RevenueClaimed(bountyId, c.account, address(token), c.round, c.index, due);
        }
    }

    function _hasLicence(uint256 bountyId, address account, LicenceKind kind) private view returns (bool) {
        if (kind == LicenceKind.Open || _licensed[bountyId][account]) return true;
        return bounties.getBounty(bountyId).sponsor == account;
    }
}
