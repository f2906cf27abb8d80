/** Model parameters or an update to them, in floating point. */
export type Weights = Float32Array;
/** A fixed-point encoding in Z_{2^32}: what secure aggregation adds. */
export type Quantized = Uint32Array;
/** A 0x-prefixed Ethereum address, or any stable client identifier. */
export type ClientId = string;
export type Address = `0x${string}`;
/** Identifies one round of one bounty, e.g. `${bountyId}:${round}`. */
export type RoundId = string;
export type GroupId = string;
/** 32 random bytes: a PRG seed or an X25519 secret. */
export type Seed = Uint8Array;
