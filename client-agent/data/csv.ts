/** CSV data sets read from a file; the parsing itself is csv-parse.ts (browser-safe). */
import { readFile } from 'node:fs/promises';
import type { Dataset } from './dataset.js';
import { parseCsv, type CsvOptions } from './csv-parse.js';

export { parseCsv, type CsvOptions } from './csv-parse.js';

export async function loadCsv(path: string, opts: CsvOptions = {}): Promise<Dataset> {
  return parseCsv(await readFile(path, 'utf8'), opts);
}
