/** Nest injection tokens for values that are not classes. */
export const CONFIG = Symbol('CONFIG');
export const CHAIN_ID = Symbol('CHAIN_ID');
export const REDIS = Symbol('REDIS');
