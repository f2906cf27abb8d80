// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Bounties: escrow and contribution ledger of Tributary model bounties
/// @notice A sponsor escrows a token budget for a model bounty; data owners stake to join; the
/// bounty's coordinator records each training round in one transaction. Every contribution is
/// logged as a `ContributionRecorded` event; the contract stores only one Merkle root per round,
/// computed on chain from the recorded batch, so the ledger costs no per-contributor storage.
/// Contributors pull their rewards with Merkle proofs (one claim bit per contribution, as in
/// Uniswap's MerkleDistributor). Unallocated funds return to the sponsor after the deadline.
///
/// Leaf of contribution `index` in a round:
///   keccak256(abi.encode(index, account, commitment, score, reward))        (160-byte preimage)
/// Inner node: keccak256 of the two children in ascending order (OpenZeppelin MerkleProof).
/// Levels pair nodes left to right; an odd last node is promoted unchanged to the next level.
///
/// Invariants (per bounty): paid + claimable == allocated; allocated + refunded <= deposited;
/// each round is recorded at most once; the rewards of a round are at most its budget.
contract Bounties is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Arguments of `createBounty`.
    struct BountyParams {
        IERC20 token;
        uint128 budget;
        uint16 rounds;
        uint32 minParticipants;
        uint128 minStake;
        uint64 deadline;
        address coordinator;
        bytes32 modelSpecHash;
        bytes32 validationSetHash;
    }

    /// @notice Stored state of a bounty, packed into six slots plus the two hashes. Fields that
    /// one call updates share a slot with a field that is non-zero from creation, so that no
    /// call pays for a fresh slot: recordRound touches slots 0, 1 and 3; claim slot 4.
    struct Bounty {
        address sponsor;
        uint64 deadline;
        uint16 rounds;
        uint16 roundsRecorded;
        address coordinator;
        uint32 minParticipants;
        IERC20 token;
        uint128 roundBudget;
        uint128 allocated;
        uint128 deposited;
        uint128 paid;
        uint128 minStake;
        uint128 refunded;
        bytes32 modelSpecHash;
        bytes32 validationSetHash;
    }

    /// @notice One recorded contribution with its Merkle proof, as needed by `claim` and `slash`.
    struct Contribution {
        uint256 round;
        uint256 index;
        address account;
        bytes32 commitment;
        int256 score;
        uint256 reward;
        bytes32[] proof;
    }

    struct Stake {
        uint128 amount;
        bool joined;
    }

    /// @notice Number of bounties created; ids run from 1 to `bountyCount`.
    uint256 public bountyCount;

    mapping(uint256 bountyId => Bounty) private _bounties;
    mapping(uint256 bountyId => mapping(address account => Stake)) private _stakes;
    mapping(uint256 bountyId => mapping(uint256 round => bytes32 root)) private _roots;
    mapping(uint256 bountyId => mapping(uint256 round => mapping(uint256 word => uint256 bits))) private _claimed;
    mapping(uint256 bountyId => mapping(uint256 round => mapping(uint256 word => uint256 bits))) private _slashed;

    /// @notice `deposited` is the budget actually received; each round may pay `roundBudget`.
    event BountyCreated(
        uint256 indexed bountyId,
        address indexed sponsor,
        address indexed coordinator,
        BountyParams params,
        uint256 deposited,
        uint256 roundBudget
    );
    event Joined(uint256 indexed bountyId, address indexed account, uint256 stake);
    event RoundRecorded(
        uint256 indexed bountyId,
        uint256 indexed round,
        bytes32 modelHash,
        bytes32 root,
        uint256 contributors,
        uint256 totalReward
    );
    /// @notice One per contribution, in batch order: the n-th event of a round is leaf n.
    event ContributionRecorded(
        uint256 indexed bountyId,
        uint256 indexed round,
        address indexed account,
        bytes32 commitment,
        int256 score,
        uint256 reward
    );
    event Claimed(uint256 indexed bountyId, uint256 indexed round, address indexed account, uint256 index, uint256 amount);
    event Slashed(uint256 indexed bountyId, uint256 indexed round, address indexed account, uint256 index, uint256 amount);
    event StakeWithdrawn(uint256 indexed bountyId, address indexed account, uint256 amount);
    event Refunded(uint256 indexed bountyId, address indexed sponsor, uint256 amount);

    error UnknownBounty(uint256 bountyId);
    error InvalidParams();
    error NotCoordinator(uint256 bountyId, address caller);
    error AfterDeadline(uint256 bountyId, uint256 deadline);
    error BeforeDeadline(uint256 bountyId, uint256 deadline);
    error RoundOutOfRange(uint256 bountyId, uint256 round);
    error RoundAlreadyRecorded(uint256 bountyId, uint256 round);
    error RoundNotRecorded(uint256 bountyId, uint256 round);
    error LengthMismatch(uint256 contributors, uint256 commitments, uint256 scores);
    error TooFewContributors(uint256 contributors, uint256 minParticipants);
    error NotParticipant(uint256 bountyId, address account);
    error RewardForNegativeScore(address account);
    error OverBudget(uint256 total, uint256 roundBudget);
    error AlreadyJoined(uint256 bountyId, address account);
    error StakeTooLow(uint256 amount, uint256 minStake);
    error InvalidProof(uint256 round, uint256 index);
    error AlreadyClaimed(uint256 round, uint256 index);
    error AlreadySlashed(uint256 round, uint256 index);
    error AccountMismatch(address expected, address actual);
    error NothingToClaim();
    error NotNegative(int256 score);
    error InvalidSlashAmount(uint256 amount, uint256 stake);
    error NothingToWithdraw();
    error NothingToRefund();

    // ---------------------------------------------------------------- sponsor

    /// @notice Creates a bounty and escrows its budget, pulled from the caller (approve first).
    /// @dev For fee-on-transfer tokens the amount actually received is escrowed.
    /// @return bountyId the new bounty's id.
    function createBounty(BountyParams calldata p) external nonReentrant returns (uint256 bountyId) {
        if (
            address(p.token) == address(0) || p.coordinator == address(0) || p.budget == 0 || p.rounds == 0
                || p.deadline <= block.timestamp
        ) revert InvalidParams();
        bountyId = ++bountyCount;
        uint256 received = _pull(p.token, msg.sender, p.budget);
        uint128 roundBudget = (received / p.rounds).toUint128();
        if (roundBudget == 0) revert InvalidParams();
        Bounty storage b = _bounties[bountyId];
        b.sponsor = msg.sender;
        b.deadline = p.deadline;
        b.rounds = p.rounds;
        b.coordinator = p.coordinator;
        b.minParticipants = p.minParticipants;
        b.token = p.token;
        b.roundBudget = roundBudget;
        b.minStake = p.minStake;
        b.deposited = received.toUint128();
        b.modelSpecHash = p.modelSpecHash;
        b.validationSetHash = p.validationSetHash;
        emit BountyCreated(bountyId, msg.sender, p.coordinator, p, received, roundBudget);
    }

    /// @notice Sends the unallocated remainder to the sponsor, once the deadline has passed or
    /// every round is recorded. Anyone may call; the funds go to the sponsor. Callable again
    /// if slashed stakes add to the remainder later.
    function refund(uint256 bountyId) external nonReentrant returns (uint256 amount) {
        Bounty storage b = _bounty(bountyId);
        if (!_settled(b)) revert BeforeDeadline(bountyId, b.deadline);
        amount = uint256(b.deposited) - b.allocated - b.refunded;
        if (amount == 0) revert NothingToRefund();
        b.refunded += amount.toUint128();
        emit Refunded(bountyId, b.sponsor, amount);
        b.token.safeTransfer(b.sponsor, amount);
    }

    // ---------------------------------------------------------------- data owners

    /// @notice Joins a bounty by staking `amount` (>= its minimum stake) of the bounty's token.
    function join(uint256 bountyId, uint256 amount) external nonReentrant {
        Bounty storage b = _bounty(bountyId);
        if (block.timestamp > b.deadline) revert AfterDeadline(bountyId, b.deadline);
        Stake storage s = _stakes[bountyId][msg.sender];
        if (s.joined) revert AlreadyJoined(bountyId, msg.sender);
        if (amount > type(uint128).max) revert InvalidParams();
        if (amount < b.minStake) revert StakeTooLow(amount, b.minStake);
        uint256 received = amount == 0 ? 0 : _pull(b.token, msg.sender, amount);
        if (received < b.minStake) revert StakeTooLow(received, b.minStake);
        s.joined = true;
        s.amount = received.toUint128();
        emit Joined(bountyId, msg.sender, received);
    }

    /// @notice Pays `leaves[i].account` the rewards of the given recorded contributions.
    /// Anyone may submit; all leaves must belong to one account, which receives the tokens.
    /// @return amount the total paid.
    function claim(uint256 bountyId, Contribution[] calldata leaves) external nonReentrant returns (uint256 amount) {
        Bounty storage b = _bounty(bountyId);
        if (leaves.length == 0) revert NothingToClaim();
        address account = leaves[0].account;
        for (uint256 i; i < leaves.length; ++i) {
            Contribution calldata c = leaves[i];
            if (c.account != account) revert AccountMismatch(account, c.account);
            _verify(bountyId, c);
            if (!_setBit(_claimed[bountyId][c.round], c.index)) revert AlreadyClaimed(c.round, c.index);
            amount += c.reward;
            emit Claimed(bountyId, c.round, account, c.index, c.reward);
        }
        if (amount == 0) revert NothingToClaim();
        b.paid += amount.toUint128();
        b.token.safeTransfer(account, amount);
    }

    /// @notice Returns a participant's whole remaining stake after the deadline.
    function withdrawStake(uint256 bountyId) external nonReentrant returns (uint256 amount) {
        Bounty storage b = _bounty(bountyId);
        if (block.timestamp <= b.deadline) revert BeforeDeadline(bountyId, b.deadline);
        Stake storage s = _stakes[bountyId][msg.sender];
        amount = s.amount;
        if (amount == 0) revert NothingToWithdraw();
        s.amount = 0;
        emit StakeWithdrawn(bountyId, msg.sender, amount);
        b.token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- coordinator

    /// @notice Records round `round` (1-based) of a bounty in one batch. Only the coordinator,
    /// not after the deadline, exactly once per round, with at least max(1, minParticipants)
    /// contributors who all joined the bounty. Emits one `ContributionRecorded` per contributor
    /// (in batch order: the n-th event is leaf n) and one `RoundRecorded`.
    /// @param modelHash keccak256 of the round's published model artifact.
    /// @param accountsAndRewards per contributor `uint256(uint160(account)) << 96 | reward` (reward < 2^96).
    /// @param commitments per contributor, a commitment to its update (e.g. its group aggregate's hash).
    /// @param scores per contributor, its quality score (fixed point); a negative score earns nothing.
    /// @return root the Merkle root of the round's contributions.
    function recordRound(
        uint256 bountyId,
        uint256 round,
        bytes32 modelHash,
        uint256[] calldata accountsAndRewards,
        bytes32[] calldata commitments,
        int256[] calldata scores
    ) external returns (bytes32 root) {
        Bounty storage b = _checkRecord(bountyId, round, accountsAndRewards.length, commitments.length, scores.length);
        (bytes32[] memory nodes, uint256 total) =
            _logContributions(bountyId, round, accountsAndRewards, commitments, scores);
        root = _commitRound(b, bountyId, round, modelHash, nodes, total);
    }

    /// @notice Slashes up to a participant's remaining stake for a recorded negative
    /// contribution (once per contribution, not after the deadline). The slashed amount joins
    /// the bounty's unallocated funds, which return to the sponsor.
    function slash(uint256 bountyId, Contribution calldata c, uint256 amount) external nonReentrant {
        Bounty storage b = _bounty(bountyId);
        if (msg.sender != b.coordinator) revert NotCoordinator(bountyId, msg.sender);
        if (block.timestamp > b.deadline) revert AfterDeadline(bountyId, b.deadline);
        _verify(bountyId, c);
        if (c.score >= 0) revert NotNegative(c.score);
        if (!_setBit(_slashed[bountyId][c.round], c.index)) revert AlreadySlashed(c.round, c.index);
        Stake storage s = _stakes[bountyId][c.account];
        if (amount == 0 || amount > s.amount) revert InvalidSlashAmount(amount, s.amount);
        s.amount -= amount.toUint128();
        b.deposited += amount.toUint128();
        emit Slashed(bountyId, c.round, c.account, c.index, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice The stored state of a bounty.
    function getBounty(uint256 bountyId) external view returns (Bounty memory) {
        return _bounty(bountyId);
    }

    /// @notice Funds the bounty's contributors can still claim.
    function claimable(uint256 bountyId) external view returns (uint256) {
        Bounty storage b = _bounty(bountyId);
        return uint256(b.allocated) - b.paid;
    }

    /// @notice The Merkle root of a recorded round, zero if not recorded.
    function roundRoot(uint256 bountyId, uint256 round) external view returns (bytes32) {
        return _roots[bountyId][round];
    }

    /// @notice Whether contribution `index` of a round has been claimed.
    function isClaimed(uint256 bountyId, uint256 round, uint256 index) external view returns (bool) {
        return _claimed[bountyId][round][index >> 8] & (1 << (index & 0xff)) != 0;
    }

    /// @notice Whether contribution `index` of a round has been slashed.
    function isSlashed(uint256 bountyId, uint256 round, uint256 index) external view returns (bool) {
        return _slashed[bountyId][round][index >> 8] & (1 << (index & 0xff)) != 0;
    }

    /// @notice A participant's remaining stake and whether it ever joined.
    function stakeOf(uint256 bountyId, address account) external view returns (uint256 amount, bool joined) {
        Stake storage s = _stakes[bountyId][account];
        return (s.amount, s.joined);
    }

    /// @notice Whether `account` joined the bounty.
    function isParticipant(uint256 bountyId, address account) external view returns (bool) {
        return _stakes[bountyId][account].joined;
    }

    /// @notice Whether allocations are final: deadline passed or every round recorded.
    function isSettled(uint256 bountyId) external view returns (bool) {
        return _settled(_bounty(bountyId));
    }

    /// @notice Reverts unless `c` is a recorded contribution of the bounty (proof checked).
    function verifyContribution(uint256 bountyId, Contribution calldata c) external view {
        _bounty(bountyId);
        _verify(bountyId, c);
    }

    /// @notice The leaf hash of a contribution, as used in the round's Merkle tree.
    function leafHash(uint256 index, address account, bytes32 commitment, int256 score, uint256 reward)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(index, account, commitment, score, reward));
    }

    // ---------------------------------------------------------------- internals

    function _bounty(uint256 bountyId) private view returns (Bounty storage b) {
        b = _bounties[bountyId];
        if (b.sponsor == address(0)) revert UnknownBounty(bountyId);
    }

    function _settled(Bounty storage b) private view returns (bool) {
        return block.timestamp > b.deadline || b.roundsRecorded == b.rounds;
    }

    function _verify(uint256 bountyId, Contribution calldata c) private view {
        bytes32 root = _roots[bountyId][c.round];
        if (root == 0) revert RoundNotRecorded(bountyId, c.round);
        bytes32 leaf = leafHash(c.index, c.account, c.commitment, c.score, c.reward);
        if (!MerkleProof.verifyCalldata(c.proof, root, leaf)) revert InvalidProof(c.round, c.index);
    }

    /// @dev Sets bit `index`; returns false if it was already set.
    function _setBit(mapping(uint256 => uint256) storage bitmap, uint256 index) private returns (bool) {
        uint256 word = bitmap[index >> 8];
        uint256 mask = 1 << (index & 0xff);
        if (word & mask != 0) return false;
        bitmap[index >> 8] = word | mask;
        return true;
    }

    /// @dev Pulls `amount` from `from` and returns what actually arrived (less for
    /// fee-on-transfer tokens; a token reporting more than it was asked for is rejected).
    function _pull(IERC20 token, address from, uint256 amount) private returns (uint256 received) {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        received = token.balanceOf(address(this)) - before;
        if (received > amount) revert InvalidParams();
    }

    function _checkRecord(uint256 bountyId, uint256 round, uint256 n, uint256 nCommitments, uint256 nScores)
        private
        view
        returns (Bounty storage b)
    {
        b = _bounty(bountyId);
        if (msg.sender != b.coordinator) revert NotCoordinator(bountyId, msg.sender);
        if (block.timestamp > b.deadline) revert AfterDeadline(bountyId, b.deadline);
        if (round == 0 || round > b.rounds) revert RoundOutOfRange(bountyId, round);
        if (_roots[bountyId][round] != 0) revert RoundAlreadyRecorded(bountyId, round);
        if (nCommitments != n || nScores != n) revert LengthMismatch(n, nCommitments, nScores);
        if (n == 0 || n < b.minParticipants) revert TooFewContributors(n, b.minParticipants);
    }

    function _commitRound(
        Bounty storage b,
        uint256 bountyId,
        uint256 round,
        bytes32 modelHash,
        bytes32[] memory nodes,
        uint256 total
    ) private returns (bytes32 root) {
        uint256 roundBudget = b.roundBudget;
        if (total > roundBudget) revert OverBudget(total, roundBudget);
        root = _merkleRoot(nodes);
        _roots[bountyId][round] = root;
        b.roundsRecorded += 1;
        b.allocated += total.toUint128();
        emit RoundRecorded(bountyId, round, modelHash, root, nodes.length, total);
    }

    /// @dev Checks each contributor, emits its `ContributionRecorded` and returns the leaves and
    /// the rewards' sum. Written in assembly to keep the per-contribution cost near the cost of
    /// the log itself (no memory growth per leaf, no storage writes).
    function _logContributions(
        uint256 bountyId,
        uint256 round,
        uint256[] calldata accountsAndRewards,
        bytes32[] calldata commitments,
        int256[] calldata scores
    ) private returns (bytes32[] memory nodes, uint256 total) {
        uint256 n = accountsAndRewards.length;
        nodes = new bytes32[](n);
        // Context in memory (above the free pointer): bountyId, round, event topic, stakes slot,
        // the two error selectors; then a 5-word scratch for each leaf's preimage.
        uint256 ctx;
        {
            mapping(address => Stake) storage stakes = _stakes[bountyId];
            bytes32 topic = ContributionRecorded.selector;
            bytes4 notParticipant = NotParticipant.selector;
            bytes4 negative = RewardForNegativeScore.selector;
            assembly ("memory-safe") {
                ctx := mload(0x40)
                mstore(ctx, bountyId)
                mstore(add(ctx, 0x20), round)
                mstore(add(ctx, 0x40), topic)
                mstore(add(ctx, 0x60), stakes.slot)
                mstore(add(ctx, 0x80), notParticipant)
                mstore(add(ctx, 0xa0), negative)
            }
        }
        uint256 aOff;
        uint256 cOff;
        uint256 sOff;
        assembly ("memory-safe") {
            aOff := accountsAndRewards.offset
            cOff := commitments.offset
            sOff := scores.offset
        }
        assembly ("memory-safe") {
            let p := add(ctx, 0xc0)
            let out := add(nodes, 0x20)
            for { let off := 0 } lt(off, shl(5, n)) { off := add(off, 0x20) } {
                let packed := calldataload(add(aOff, off))
                let account := shr(96, packed)
                let reward := and(packed, 0xffffffffffffffffffffffff)
                let score := calldataload(add(sOff, off))
                mstore(0x00, account)
                mstore(0x20, mload(add(ctx, 0x60)))
                // Stake {uint128 amount; bool joined}: `joined` is the byte above the amount.
                if iszero(and(shr(128, sload(keccak256(0x00, 0x40))), 0xff)) {
                    mstore(0x00, mload(add(ctx, 0x80)))
                    mstore(0x04, mload(ctx))
                    mstore(0x24, account)
                    revert(0x00, 0x44)
                }
                if and(slt(score, 0), iszero(iszero(reward))) {
                    mstore(0x00, mload(add(ctx, 0xa0)))
                    mstore(0x04, account)
                    revert(0x00, 0x24)
                }
                total := add(total, reward)
                mstore(p, shr(5, off))
                mstore(add(p, 0x20), account)
                mstore(add(p, 0x40), calldataload(add(cOff, off)))
                mstore(add(p, 0x60), score)
                mstore(add(p, 0x80), reward)
                mstore(add(out, off), keccak256(p, 0xa0))
                log4(add(p, 0x40), 0x60, mload(add(ctx, 0x40)), mload(ctx), mload(add(ctx, 0x20)), account)
            }
        }
    }

    /// @dev Merkle root over `nodes`, computed in place (see the contract's doc for the shape).
    function _merkleRoot(bytes32[] memory nodes) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let len := mload(nodes)
            let base := add(nodes, 0x20)
            for {} gt(len, 1) {} {
                let half := shr(1, len)
                for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                    let a := mload(add(base, shl(6, i)))
                    let c := mload(add(base, add(shl(6, i), 0x20)))
                    if gt(a, c) {
                        let t := a
                        a := c
                        c := t
                    }
                    mstore(0x00, a)
                    mstore(0x20, c)
                    mstore(add(base, shl(5, i)), keccak256(0x00, 0x40))
                }
                if and(len, 1) {
                    mstore(add(base, shl(5, half)), mload(add(base, shl(5, sub(len, 1)))))
                    half := add(half, 1)
                }
                len := half
            }
            root := mload(base)
        }
    }
}
