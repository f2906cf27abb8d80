/** TypeORM data source: every table lives in one schema, created and migrated at start. */
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities.js';
import { Initial1764000000000 } from './migrations/1764000000000-initial.js';
import { Offenders1765000000000 } from './migrations/1765000000000-offenders.js';

export const MIGRATIONS = [Initial1764000000000, Offenders1765000000000];

export function dataSourceOptions(url: string, schema: string): DataSourceOptions {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name: ${schema}`);
  return {
    type: 'postgres',
    url,
    schema,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
    logging: false,
    extra: { options: `-c search_path=${schema}`, max: 10 },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const ds = new DataSource({ type: 'postgres', url, extra: { max: 1 } });
  await ds.initialize();
  try {
    await ds.query(sql);
  } finally {
    await ds.destroy();
  }
}

/** Creates the schema if missing (migrations then create the tables inside it). */
export async function ensureSchema(url: string, schema: string): Promise<void> {
  await adminQuery(url, `CREATE SCHEMA IF NOT EXISTS "${schema}"`);
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  await adminQuery(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

export async function openDataSource(url: string, schema: string): Promise<DataSource> {
  await ensureSchema(url, schema);
  const ds = new DataSource(dataSourceOptions(url, schema));
  await ds.initialize();
  return ds;
}
