/**
 * The fleet across hosts (`npm run test:multihost`): builds a network of namespaces — the server
 * with PostgreSQL, three JetStream nodes, two workers — runs the scenarios of
 * `support/fleet-scenarios.ts` inside the server's namespace, prints their measurements, and tears
 * everything down (processes, namespaces, bridge, files) whatever happened. Where network
 * namespaces cannot be made (not root, no `ip`), it says why and skips.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildNetwork, networkUnavailableReason, teardownNetwork, type Network } from "./support/network.js";

const SCENARIOS = join(__dirname, "support", "fleet-scenarios.js");
const SCENARIOS_LIMIT_MS = 280_000;
const HOSTS = ["server", "nats1", "nats2", "nats3", "worker1", "worker2"];

const built: { network?: Network } = {};
let dir: string | undefined;

after(async () => {
  const problems = await teardownNetwork(built.network);
  if (dir) rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(problems, [], "the network was torn down");
});

test("the fleet across hosts: a sweep, a cut worker link, a NATS node lost and restarted", async (t) => {
  const unavailable = networkUnavailableReason();
  if (unavailable !== null) {
    console.log(`multi-host test skipped: ${unavailable}`);
    t.skip(unavailable);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), "swamp-multihost-"));
  // PostgreSQL runs as the postgres user, in a directory under this one.
  chmodSync(dir, 0o755);
  const network = buildNetwork(HOSTS, built);
  const figures = join(dir, "figures.json");
  // Without the runner's marker, or the nested runner would report to this one instead of running.
  const { NODE_TEST_CONTEXT: _marker, ...env } = process.env;
  const child = spawn("ip", ["netns", "exec", network.hosts.server!.namespace, process.execPath, "--test", "--test-reporter=spec", SCENARIOS], {
    env: { ...env, SWAMP_MULTIHOST: JSON.stringify({ network, dir, figures }) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // The scenarios' own waits are shorter; this only bounds a hang. `exit`, not `close`: a process
  // left in a namespace may still hold the pipes until the teardown kills it.
  const limit = setTimeout(() => child.kill("SIGKILL"), SCENARIOS_LIMIT_MS);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(limit);
  if (existsSync(figures)) console.log(`multi-host figures: ${readFileSync(figures, "utf8")}`);
  assert.equal(code, 0, `the scenarios failed:\n${output.slice(-12_000)}`);
});
