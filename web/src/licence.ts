/**
 * What the web app shows of the ModelRegistry: licence terms and ratings. The reads themselves
 * (chain.ts, with ethers) are loaded on first use, so the first paint does not wait for them.
 */

/** ModelRegistry.LicenceKind, in the contract's order. */
export const LICENCE_KINDS = ['contributors only', 'open', 'paid'] as const;
export type LicenceKindName = (typeof LICENCE_KINDS)[number];

export interface Licence {
  kind: LicenceKindName;
  token: string;
  price: bigint;
}

export interface Rating {
  count: number;
  /** Mean of the ratings, or null with none. */
  mean: number | null;
}

export const licenceTerms = async (bountyId: number): Promise<Licence> =>
  (await import('./chain.js')).licenceTerms(bountyId);

export const versionRating = async (bountyId: number, version: number): Promise<Rating> =>
  (await import('./chain.js')).versionRating(bountyId, version);
