/**
 * Picks the fastest TensorFlow.js backend this machine has: `tensorflow` (native libtensorflow
 * through the optional `@tensorflow/tfjs-node`), else `wasm` (XNNPACK with SIMD, one thread in
 * Node) with our `Conv2DBackpropFilter` kernel, else the pure-JS `cpu` backend (~50x slower for
 * CNNs). Must run before any tensor is created: tensors belong to the backend that made them.
 */
import * as tf from '@tensorflow/tfjs';
import {
  registerWasmConv2DBackpropFilter,
  registerWasmConv2DBackpropInput,
} from './conv2d-backprop-filter.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendOptions {
  /** Backends to try, in order. Default: tensorflow, wasm, cpu; env TRIBUTARY_BACKEND forces one. */
  prefer?: readonly BackendName[];
  /** Where to say which backend runs; default console.error. `null` silences it. */
  log?: ((line: string) => void) | null;
}

/** The native package is optional: importing it fails cleanly when it is not installed. */
async function tryNative(): Promise<boolean> {
  try {
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return tf.findBackendFactory('tensorflow') !== null;
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmConv2DBackpropFilter();
    registerWasmConv2DBackpropInput();
    return true;
  } catch {
    return false;
  }
}

function envPreference(): BackendName[] | undefined {
  const v = process.env['TRIBUTARY_BACKEND'];
  if (v === undefined || v === '') return undefined;
  if (!(BACKEND_ORDER as readonly string[]).includes(v)) {
    throw new Error(`TRIBUTARY_BACKEND must be one of ${BACKEND_ORDER.join(', ')}; got ${v}`);
  }
  return [v as BackendName];
}

/** Selects and initialises a backend; returns its name. Safe to call more than once. */
export async function initBackend(opts: BackendOptions = {}): Promise<BackendName> {
  const order = opts.prefer ?? envPreference() ?? BACKEND_ORDER;
  const log = opts.log === undefined ? (l: string) => console.error(l) : opts.log;
  const tried: string[] = [];
  for (const name of order) {
    const available =
      name === 'tensorflow' ? await tryNative() : name === 'wasm' ? await tryWasm() : true;
    if (available && (await tf.setBackend(name))) {
      await tf.ready();
      log?.(`tfjs backend: ${name}` + (tried.length ? ` (unavailable: ${tried.join(', ')})` : ''));
      return name;
    }
    tried.push(name);
  }
  throw new Error(`no tfjs backend could start (tried ${tried.join(', ')})`);
}

/** Makes sure a given backend is registered (for tests and benchmarks that switch backends). */
export async function ensureRegistered(name: BackendName): Promise<boolean> {
  if (name === 'tensorflow') return tryNative();
  if (name === 'wasm') return tryWasm();
  return true;
}
