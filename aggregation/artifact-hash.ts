/**
 * A model version's artifact hash: keccak256(keccak256(model.json) || keccak256(weights)), so
 * anyone holding the two files checks them against the one bytes32 the registry holds. Its own
 * file (no Buffer at load), so that browser code such as the replay audit can import it.
 */
import { concat, keccak256 } from 'ethers';

/** keccak256(keccak256(model.json) || keccak256(weights)): the hash a model version carries on chain. */
export function modelArtifactHash(modelJson: Uint8Array, weights: Uint8Array): string {
  return keccak256(concat([keccak256(modelJson), keccak256(weights)]));
}
