/**
 * The scoring record's schema and helpers live in client-agent/audit/record.ts (browser-safe, the
 * web app's audit reads them too); re-exported here for the CLI's modules and tests.
 */
export * from '../audit/record.js';
