/** Compiles words.wat to the base64 module embedded in words.wasm.ts (run after editing the .wat). */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const here = dirname(fileURLToPath(import.meta.url));

export async function compileWords(): Promise<Uint8Array> {
  const wabt = await initWabt();
  const mod = wabt.parseWat('words.wat', readFileSync(join(here, 'words.wat'), 'utf8'), {
    simd: true,
  });
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bytes = await compileWords();
  writeFileSync(
    join(here, 'words.wasm.ts'),
    `// Generated from words.wat by build.ts; do not edit.\nexport const WORDS_WASM_BASE64 =\n  '${Buffer.from(bytes).toString('base64')}';\n`,
  );
  console.log(`words.wasm: ${bytes.length} bytes`);
}
