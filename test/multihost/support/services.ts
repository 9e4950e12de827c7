/**
 * The services of the multi-host test, each started in its own network namespace: a private
 * PostgreSQL cluster (Debian's binaries, run as the `postgres` user) and nats-server nodes joined
 * into one JetStream cluster with the swamp roles' users. Processes are tracked by pid so the
 * network's teardown can end them, whatever happened.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { join } from "node:path";
import { fleetNames } from "../../../schema/subjects.js";
import { renderNatsAuthorization, type NatsRoleUser } from "../../../transport/nats/roles.js";
import { NATS_SERVER_BINARY } from "../../transport/support/nats-server-process.js";
import { sleep } from "../../transport/support/waiting.js";
import type { Host } from "./network.js";

export const POSTGRES_BIN = process.env.SWAMP_POSTGRES_BIN ?? "/usr/lib/postgresql/15/bin";
export const NATS_CLIENT_PORT = 4222;
const NATS_ROUTE_PORT = 6222;

/**
 * Spawns `command` inside a host's namespace, its output going to `logFile` (read back for error
 * messages). A file, not a pipe: a pipe would keep the test process alive as long as the service.
 */
export function spawnIn(host: Host, command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; output: () => string } {
  const log = openSync(logFile, "a");
  const child = spawn("ip", ["netns", "exec", host.namespace, command, ...args], { env, stdio: ["ignore", log, log] });
  closeSync(log);
  child.unref();
  return { child, output: () => readFileSync(logFile, "utf8").slice(-5_000) };
}

/** Waits until something in the current namespace accepts TCP connections on address:port. */
export async function waitForPort(address: string, port: number, what: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connectTcp({ host: address, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${address}:${port} after ${timeoutMs} ms: ${what()}`);
    await sleep(100);
  }
}

/**
 * A fresh PostgreSQL cluster in `dir`, listening on 127.0.0.1:5432 of the calling process's
 * namespace (the server host's loopback: only the server reaches it) and on a socket in `dir`.
 * Returns the admin URL.
 */
export async function startPostgres(dir: string): Promise<string> {
  const data = join(dir, "pgdata");
  mkdirSync(data, { mode: 0o700 });
  const postgresUser = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  if (postgresUser.status !== 0) throw new Error("there is no `postgres` user to run the private PostgreSQL cluster as");
  const uid = Number(postgresUser.stdout.trim());
  chownSync(data, uid, Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim()));
  const init = spawnSync("runuser", ["-u", "postgres", "--", join(POSTGRES_BIN, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  // In this process's namespace (the server host's); the network's teardown ends it.
  const logFile = join(dir, "postgres.log");
  const log = openSync(logFile, "a");
  const server = spawn(
    "runuser",
    ["-u", "postgres", "--", join(POSTGRES_BIN, "postgres"), "-D", data, "-k", data, "-c", "listen_addresses=127.0.0.1", "-p", "5432", "-c", "fsync=off"],
    { stdio: ["ignore", log, log] },
  );
  closeSync(log);
  server.unref();
  await waitForPort("127.0.0.1", 5432, () => readFileSync(logFile, "utf8").slice(-5_000));
  // Accepting TCP precedes accepting logins by a moment (recovery at start-up).
  for (let attempt = 0; attempt < 100; attempt++) {
    if (spawnSync(join(POSTGRES_BIN, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", "5432"]).status === 0) break;
    await sleep(100);
  }
  return "postgres://postgres@127.0.0.1:5432/postgres";
}

export interface NatsNode {
  readonly name: string;
  readonly host: Host;
  readonly url: string;
  child: ChildProcess | undefined;
  output: () => string;
}

/** The nats-server configuration of one cluster node: JetStream on `storeDir`, routes to the others, the roles' users. */
export function natsNodeConfig(name: string, host: Host, peers: readonly Host[], storeDir: string, namespace: string, users: readonly NatsRoleUser[]): string {
  return [
    `server_name: ${JSON.stringify(name)}`,
    `listen: "${host.address}:${NATS_CLIENT_PORT}"`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    `cluster {`,
    `  name: "swamp-multihost"`,
    `  listen: "${host.address}:${NATS_ROUTE_PORT}"`,
    `  routes: [${peers.map((peer) => JSON.stringify(`nats-route://${peer.address}:${NATS_ROUTE_PORT}`)).join(", ")}]`,
    `}`,
    renderNatsAuthorization(fleetNames(namespace), users),
  ].join("\n");
}

/** Starts (or restarts, on the same store) one node of the cluster. */
export async function launchNatsNode(node: NatsNode, configPath: string): Promise<void> {
  const started = spawnIn(node.host, NATS_SERVER_BINARY, ["-c", configPath], configPath.replace(/\.conf$/, ".log"));
  node.child = started.child;
  node.output = started.output;
  await waitForPort(node.host.address, NATS_CLIENT_PORT, started.output);
}

export async function startNatsCluster(dir: string, hosts: readonly Host[], namespace: string, users: readonly NatsRoleUser[]): Promise<{ nodes: NatsNode[]; restart(node: NatsNode): Promise<void> }> {
  const configs = new Map<string, string>();
  const nodes: NatsNode[] = hosts.map((host, index) => {
    const name = `nats${index + 1}`;
    const storeDir = join(dir, `${name}-store`);
    const configPath = join(dir, `${name}.conf`);
    writeFileSync(configPath, natsNodeConfig(name, host, hosts.filter((peer) => peer !== host), storeDir, namespace, users));
    configs.set(name, configPath);
    return { name, host, url: `nats://${host.address}:${NATS_CLIENT_PORT}`, child: undefined, output: () => "" };
  });
  // All at once: a JetStream cluster elects its meta leader once a quorum of nodes is up.
  await Promise.all(nodes.map((node) => launchNatsNode(node, configs.get(node.name)!)));
  return { nodes, restart: (node) => launchNatsNode(node, configs.get(node.name)!) };
}

/** Kills a node as a crashed machine would, and waits for it to exit. */
export async function killNatsNode(node: NatsNode): Promise<void> {
  const child = node.child;
  node.child = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await exited;
}
