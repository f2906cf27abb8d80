/**
 * The address behind an EIP-191 (`personal_sign`) signature, as ethers' `verifyMessage` returns it,
 * through libsecp256k1 (npm `secp256k1`, its prebuilt native binding) when this process can load
 * it. An agent checks one wallet certificate per peer it meets (aggregation/secagg/identity.ts),
 * and a JavaScript ecrecover costs about 2 ms where the native one, keccak included, costs about
 * 0.2 ms. Where the binding is missing (another platform, a browser) it is ethers' own recover:
 * same answers, slower.
 *
 * Node only (the web app does not import it).
 */
import { createRequire } from 'node:module';
import { getAddress, getBytes, keccak256, Signature, verifyMessage } from 'ethers';

interface NativeSecp256k1 {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
}

function loadNative(): NativeSecp256k1 | undefined {
  try {
    const require = createRequire(import.meta.url);
    // `secp256k1/bindings` is the native addon alone; the package's main entry would fall back to
    // a JavaScript implementation slower than ethers'.
    return require('secp256k1/bindings') as NativeSecp256k1;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Which implementation `recoverMessageSigner` uses (benchmarks report it). */
export const walletRecoverBackend: 'libsecp256k1' | 'ethers' = native ? 'libsecp256k1' : 'ethers';

/**
 * The checksummed address that signed `message` (EIP-191). Throws on a malformed signature, as
 * `verifyMessage` does; a well-formed signature by someone else returns their address.
 */
export function recoverMessageSigner(message: string, signature: string): string {
  if (!native) return verifyMessage(message, signature);
  // Signature.from accepts 65-byte (r, s, v) and 64-byte EIP-2098 forms and refuses a high s,
  // exactly as verifyMessage does.
  const sig = Signature.from(signature);
  const rs = getBytes(sig.r + sig.s.slice(2));
  const pub = native.ecdsaRecover(rs, sig.yParity, eip191Digest(message), false);
  // The address is the last 20 bytes of keccak256 over the 64-byte key (without its 0x04 tag);
  // ethers' computeAddress would first decompress and validate the point again (about 25 µs).
  return getAddress(`0x${keccak256(pub.subarray(1)).slice(26)}`);
}

const utf8 = new TextEncoder();

/** ethers' hashMessage, from bytes: keccak256("\x19Ethereum Signed Message:\n" + length + message). */
function eip191Digest(message: string): Uint8Array {
  const body = utf8.encode(message);
  const prefix = utf8.encode(`\x19Ethereum Signed Message:\n${body.length}`);
  const all = new Uint8Array(prefix.length + body.length);
  all.set(prefix);
  all.set(body, prefix.length);
  return getBytes(keccak256(all));
}
