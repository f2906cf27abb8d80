/**
 * The error type of every contract call (`ChainError`, its `code` the Solidity error's name), apart
 * from the decoding in errors.ts so that browser code can throw and catch it without loading the
 * contracts' bytecode.
 */
/** Names of the custom errors the contracts can revert with. */
export const CONTRACT_ERROR_CODES = [
  // Bounties
  'UnknownBounty',
  'InvalidParams',
  'NotCoordinator',
  'AfterDeadline',
  'BeforeDeadline',
  'RoundOutOfRange',
  'RoundAlreadyRecorded',
  'RoundNotRecorded',
  'LengthMismatch',
  'TooFewContributors',
  'NotParticipant',
  'RewardForNegativeScore',
  'OverBudget',
  'AlreadyJoined',
  'StakeTooLow',
  'InvalidProof',
  'AlreadyClaimed',
  'AlreadySlashed',
  'AccountMismatch',
  'NothingToClaim',
  'NotNegative',
  'InvalidSlashAmount',
  'NothingToWithdraw',
  'NothingToRefund',
  // ModelRegistry
  'NotSponsor',
  'InvalidLicence',
  'NotForSale',
  'AlreadyLicensed',
  'NotSettled',
  'NoRewardsToSplit',
  'NoReward',
  'VersionOutOfOrder',
  'InvalidArtifactHash',
  'UnknownVersion',
  'NoLicence',
  'InvalidRating',
  'AlreadyRated',
  // OpenZeppelin
  'ReentrancyGuardReentrantCall',
  'SafeERC20FailedOperation',
  'SafeCastOverflowedUintDowncast',
  'ERC20InsufficientAllowance',
  'ERC20InsufficientBalance',
  'ERC20InvalidApprover',
  'ERC20InvalidReceiver',
  'ERC20InvalidSender',
  'ERC20InvalidSpender',
  'ERC2612ExpiredSignature',
  'ERC2612InvalidSigner',
  'ECDSAInvalidSignature',
  'ECDSAInvalidSignatureLength',
  'ECDSAInvalidSignatureS',
  'InvalidAccountNonce',
  'InvalidShortString',
  'StringTooLong',
  'OwnableInvalidOwner',
  'OwnableUnauthorizedAccount',
] as const;

export type ContractErrorCode = (typeof CONTRACT_ERROR_CODES)[number];
/** A contract error, or a revert/failure that carries no custom error. */
export type ChainErrorCode = ContractErrorCode | 'REVERTED' | 'CHAIN_FAILURE';

/** A rejected contract call, with the Solidity error's name as `code` and its arguments. */
export class ChainError extends Error {
  override readonly name = 'ChainError';
  constructor(
    readonly code: ChainErrorCode,
    readonly args: readonly unknown[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
