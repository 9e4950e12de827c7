/** The server's PostgreSQL: the configured one, or an embedded cluster under SWAMP_HOME. */
import type { DataSource } from "typeorm";
import { swampHomeLayout } from "../../schema/swamp-home.js";
import { openDatabase } from "../db/data-source.js";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "../db/embedded-postgres.js";
import type { Cleanups } from "./shutdown.js";

export interface ServerDatabase {
  dataSource: DataSource;
  /** Set when the server started its own PostgreSQL. */
  embeddedPostgres: EmbeddedPostgresHandle | null;
}

export async function openServerDatabase(
  options: { databaseUrl?: string; home: string; poolSize?: number; log: (line: string) => void },
  cleanups: Cleanups,
): Promise<ServerDatabase> {
  let embeddedPostgres: EmbeddedPostgresHandle | null = null;
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl) {
    const started = await startEmbeddedPostgres({ dataDir: swampHomeLayout(options.home).postgres });
    embeddedPostgres = started;
    cleanups.add(() => started.stop());
    databaseUrl = started.url;
    options.log(`embedded PostgreSQL ${started.initialised ? "created and started" : "started"} in ${started.dataDir}`);
  }
  const dataSource = await openDatabase({ url: databaseUrl, poolSize: options.poolSize });
  cleanups.add(() => dataSource.destroy());
  return { dataSource, embeddedPostgres };
}
