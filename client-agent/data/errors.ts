/** Codes a caller can act on when a data set cannot be read. */
export type DataErrorCode =
  | 'IDX_BAD_MAGIC'
  | 'IDX_TRUNCATED'
  | 'IDX_MISMATCH'
  | 'CSV_EMPTY'
  | 'CSV_BAD_HEADER'
  | 'CSV_BAD_VALUE'
  | 'CSV_BAD_LABEL'
  | 'CSV_COLUMN_COUNT'
  | 'DATASET_UNAVAILABLE'
  | 'DATASET_UNKNOWN'
  | 'PARTITION_BAD_ARGS';

export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    readonly code: DataErrorCode,
    message: string,
    /** 1-based line of the source file, when the error is about one. */
    readonly row?: number,
    /** Column name (or 1-based index when there is no header). */
    readonly column?: string,
  ) {
    super(message);
  }
}
