import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { startEmbeddedPostgres } from "../../server/db/embedded-postgres.js";
import { startServer } from "../../server/start-server.js";
import { sampleConfig } from "./support/test-server.js";

let home: string;

before(() => {
  // PostgreSQL runs as the `postgres` user when started by root: it must be able to enter the home.
  home = mkdtempSync("/tmp/swamp-embedded-");
  chmodSync(home, 0o755);
});
after(() => {
  rmSync(home, { recursive: true, force: true });
});

async function post(url: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: any; errors?: Array<{ message: string }> };
}

it("starts an embedded PostgreSQL, keeps the data across a stop and a second start", async () => {
  const first = await startServer({ swampHome: home, port: 0, log: () => undefined });
  let token: string;
  try {
    assert.ok(first.embeddedPostgres, "no DATABASE_URL: embedded PostgreSQL");
    assert.equal(first.embeddedPostgres!.initialised, true, "the first start creates the cluster");
    assert.equal(first.embeddedPostgres!.dataDir, join(home, "postgres"));
    token = first.firstAdminToken!;
    assert.ok(token);
    const created = await post(first.url, token, `mutation($c: JSONObject!) { createExperiment(config: $c) { id name } }`, { c: sampleConfig({ name: "persisted" }) });
    assert.equal(created.errors, undefined);
  } finally {
    await first.close();
  }
  const second = await startServer({ swampHome: home, port: 0, log: () => undefined });
  try {
    assert.equal(second.embeddedPostgres!.initialised, false, "the second start reuses the cluster");
    assert.equal(second.firstAdminToken, null, "the first admin token is created only once");
    const listed = await post(second.url, token, `{ experiments { nodes { name } } }`);
    assert.equal(listed.errors, undefined, "the token from the first start still works");
    assert.deepEqual(listed.data.experiments.nodes, [{ name: "persisted" }]);
  } finally {
    await second.close();
  }
  await assert.rejects(fetch(second.url), "the server is gone after close()");
});

it("explains why it cannot start when its data directory is out of the postgres user's reach", async () => {
  const hidden = join(home, "private");
  mkdirSync(hidden, { mode: 0o700 });
  chmodSync(hidden, 0o700);
  if (userInfo().uid === 0) {
    await assert.rejects(startEmbeddedPostgres({ dataDir: join(hidden, "postgres") }), /runs as the 'postgres' user .* cannot enter .*private \(mode 700\).*SWAMP_HOME/s);
  } else {
    // Not root: PostgreSQL runs as this user, who can enter its own private directory.
    const cluster = await startEmbeddedPostgres({ dataDir: join(hidden, "postgres") });
    await cluster.stop();
    assert.equal(cluster.initialised, true);
  }
});

/** Processes whose command line names this path (a postgres serving a data directory does). */
function processesNaming(path: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(path)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

it("is out of reach of a Ctrl-C to the process group: it serves until stopped, stops, and starts again", async () => {
  const dataDir = join(home, "ctrl-c", "postgres");
  const runOnce = async () => {
    const child = spawn(process.execPath, [join(__dirname, "embedded-postgres-ctrl-c-child.js"), dataDir], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    for (let waited = 0; !output.includes("ready") && child.exitCode === null && waited < 60_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.match(output, /ready/);
    process.kill(-child.pid!, "SIGINT");
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), 60_000)))]);
    clearTimeout(timer);
    if (code === "hung") process.kill(-child.pid!, "SIGKILL");
    assert.equal(code, 0, output);
    assert.equal(output, "ready\nwritten after Ctrl-C\nstopped\n");
    assert.deepEqual(processesNaming(dataDir), [], "no PostgreSQL is left running");
  };
  await runOnce();
  await runOnce();
});

it("keeps its password file and data directory to their owner", async () => {
  const dataDir = join(home, "modes", "postgres");
  const cluster = await startEmbeddedPostgres({ dataDir });
  await cluster.stop();
  assert.equal(statSync(`${dataDir}.password`).mode & 0o777, 0o600);
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(home, "modes")).mode & 0o077 & ~0o011, 0, "the home is not readable or writable by others");
});
