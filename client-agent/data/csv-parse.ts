/**
 * CSV data sets: numeric feature columns plus one integer label column. Every problem is
 * reported as a DataError naming the line (1-based, as an editor shows it) and the column.
 * Browser-safe (no Node built-ins): the web app's Sponsor page parses an uploaded validation set
 * with it; `csv.ts` adds reading from a file.
 */
import { makeDataset, type Dataset } from './dataset.js';
import { DataError } from './errors.js';

export interface CsvOptions {
  /** Label column: a header name or a 0-based index. Default: the last column. */
  label?: string | number;
  /** Whether the first line names the columns. Default: yes when it has a non-numeric cell. */
  header?: boolean;
  /** Number of classes; default max label + 1. */
  numClasses?: number;
  delimiter?: string;
}

function splitLine(line: string, delimiter: string): string[] {
  return line.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
}

export function parseCsv(text: string, opts: CsvOptions = {}): Dataset {
  const delimiter = opts.delimiter ?? ',';
  const lines = text.split(/\r?\n/);
  const rows: { line: number; cells: string[] }[] = [];
  lines.forEach((l, i) => {
    if (l.trim() !== '') rows.push({ line: i + 1, cells: splitLine(l, delimiter) });
  });
  if (rows.length === 0) throw new DataError('CSV_EMPTY', 'CSV has no rows');
  const first = rows[0]!;
  const header = opts.header ?? first.cells.some((c) => c === '' || !Number.isFinite(Number(c)));
  const width = first.cells.length;
  const names = header ? first.cells : first.cells.map((_, i) => String(i + 1));
  if (header && new Set(names).size !== names.length) {
    throw new DataError('CSV_BAD_HEADER', 'CSV header repeats a column name', first.line);
  }
  let labelCol: number;
  if (opts.label === undefined) labelCol = width - 1;
  else if (typeof opts.label === 'number') labelCol = opts.label;
  else labelCol = names.indexOf(opts.label);
  if (labelCol < 0 || labelCol >= width) {
    throw new DataError(
      'CSV_BAD_HEADER',
      `label column ${String(opts.label)} not found (columns: ${names.join(', ')})`,
      first.line,
    );
  }
  if (width < 2)
    throw new DataError(
      'CSV_BAD_HEADER',
      'CSV needs at least one feature column and a label column',
      first.line,
    );
  const data = header ? rows.slice(1) : rows;
  if (data.length === 0) throw new DataError('CSV_EMPTY', 'CSV has a header but no data rows');
  const f = width - 1;
  const x = new Float32Array(data.length * f);
  const y = new Int32Array(data.length);
  data.forEach(({ line, cells }, r) => {
    if (cells.length !== width) {
      throw new DataError(
        'CSV_COLUMN_COUNT',
        `line ${line}: ${cells.length} columns, expected ${width}`,
        line,
      );
    }
    let j = 0;
    cells.forEach((cell, c) => {
      const v = cell === '' ? NaN : Number(cell);
      if (c === labelCol) {
        if (!Number.isInteger(v) || v < 0) {
          throw new DataError(
            'CSV_BAD_LABEL',
            `line ${line}, column ${names[c]}: label "${cell}" is not a non-negative integer`,
            line,
            names[c],
          );
        }
        y[r] = v;
      } else {
        if (!Number.isFinite(v)) {
          throw new DataError(
            'CSV_BAD_VALUE',
            `line ${line}, column ${names[c]}: "${cell}" is not a number`,
            line,
            names[c],
          );
        }
        x[r * f + j++] = v;
      }
    });
  });
  let k = opts.numClasses ?? 0;
  for (let r = 0; r < y.length; r++) {
    if (opts.numClasses !== undefined && y[r]! >= opts.numClasses) {
      throw new DataError(
        'CSV_BAD_LABEL',
        `line ${data[r]!.line}, column ${names[labelCol]}: label ${y[r]} >= ${opts.numClasses} classes`,
        data[r]!.line,
        names[labelCol],
      );
    }
    if (opts.numClasses === undefined) k = Math.max(k, y[r]! + 1);
  }
  return makeDataset(x, y, [f], k);
}
