import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend.js';

describe('initBackend', () => {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  it('falls back from the missing native backend to wasm and says so', async () => {
    const name = await initBackend({ prefer: ['tensorflow', 'wasm', 'cpu'], log });
    // @tensorflow/tfjs-node is optional and not installed on the machines this runs on.
    const native = tf.findBackendFactory('tensorflow') !== null;
    expect(name).toBe(native ? 'tensorflow' : 'wasm');
    expect(tf.getBackend()).toBe(name);
    expect(lines.at(-1)).toBe(
      native ? 'tfjs backend: tensorflow' : 'tfjs backend: wasm (unavailable: tensorflow)',
    );
  });

  it('honours TRIBUTARY_BACKEND and rejects unknown names', async () => {
    process.env['TRIBUTARY_BACKEND'] = 'cpu';
    try {
      expect(await initBackend({ log })).toBe('cpu');
      process.env['TRIBUTARY_BACKEND'] = 'gpu';
      await expect(initBackend({ log })).rejects.toThrow(/TRIBUTARY_BACKEND/);
    } finally {
      delete process.env['TRIBUTARY_BACKEND'];
    }
    expect(await initBackend({ log: null })).not.toBe('cpu');
  });
});
