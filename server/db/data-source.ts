import "reflect-metadata";
import { DataSource } from "typeorm";
import { MIGRATIONS } from "../../migrations/index.js";
import { ADVISORY_LOCKS } from "./advisory-locks.js";
import { ENTITIES } from "./entities.js";

export interface DataSourceOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Pool size; the default suits one server process. */
  poolSize?: number;
  /** Log every SQL statement (debugging only). */
  logSql?: boolean;
}

/**
 * A DataSource over the server's entities and checked-in migrations. It never synchronises:
 * the schema changes only through migrations (see `runMigrations`).
 */
export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource({
    type: "postgres",
    url: options.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: "swamp_migrations",
    migrationsTransactionMode: "each",
    synchronize: false,
    uuidExtension: "pgcrypto",
    logging: options.logSql ? "all" : false,
    extra: { max: options.poolSize ?? 10 },
  });
}

/**
 * Connects and brings the schema up to date with the checked-in migrations, one replica at a time
 * (the others wait, then find nothing left to run). The lock is held on a connection of its own, so
 * the pool needs at least two.
 */
export async function openDatabase(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = createDataSource(options);
  await dataSource.initialize();
  try {
    const lockHolder = dataSource.createQueryRunner();
    try {
      await lockHolder.query(`SELECT pg_advisory_lock($1)`, [ADVISORY_LOCKS.migrations]);
      await dataSource.runMigrations({ transaction: "each" });
    } finally {
      await lockHolder.release();
    }
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}
