/**
 * Ctrl-C in a terminal signals the whole foreground process group. The embedded PostgreSQL must not
 * be part of it: swamp stops the workers, writes the last metric points, and only then stops it.
 */
import assert from "node:assert/strict";
import { chmodSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { tempDir, type CliResult } from "../helpers/cli.js";
import { modesUnder, notPrivateUnder } from "../helpers/file-modes.js";
import { sleep, waitFor } from "../transport/support/waiting.js";
import { slowConfig } from "./support/fleet.js";
import { startUp } from "./support/up-process.js";

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
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

/** The exit, or null when the process is still running after `boundMs` (a hang). */
async function exitWithin(done: Promise<CliResult>, boundMs: number): Promise<CliResult | null> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), boundMs)));
  try {
    return await Promise.race([done, bound]);
  } finally {
    clearTimeout(timer);
  }
}

test("a Ctrl-C to swamp up's process group while it trains stops it cleanly, embedded PostgreSQL last, leaves its files private, and it starts again on the same home", async () => {
  // Embedded PostgreSQL runs as the postgres user when the tests run as root: it must reach the home.
  const parent = tempDir("shutdown");
  chmodSync(parent, 0o755);
  const home = join(parent, "home");
  cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
  const env = { SWAMP_HOME: home, DATABASE_URL: "", SWAMP_ADMIN_TOKEN: "" };
  const up = await startUp(["--workers", "1", "--no-defaults"], env, cleanups, { detached: true });
  const created = await up.gql<{ createExperiment: { id: string } }>(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, {
    // Long enough that a progress poll sees cycle 0 training even on a fast CPU (it is stopped then).
    config: slowConfig("shutdown", 21, { examples: 16384, epochs: 10 }),
  });
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  await waitFor("a particle to be training", () => /shutdown\s+running\s+cycle 0\/1/.test(up.output()), 60_000);
  await sleep(2_000); // metric points stream in while it trains

  process.kill(-up.child.pid!, "SIGINT");
  const exit = await exitWithin(up.done, 60_000);
  assert.ok(exit, `swamp up did not exit after Ctrl-C:\n${up.output()}`);
  assert.equal(exit.code, 0, up.output());
  assert.match(up.output(), /SIGINT: stopping[\s\S]*\nstopped\n/);
  assert.doesNotMatch(up.output(), /dropped|lost|could not|terminating connection/i, "nothing was lost on the way down");
  assert.deepEqual(processesNaming(join(home, "postgres")), [], "no PostgreSQL is left running");
  // What the run left in the home is its owner's alone.
  assert.ok(modesUnder(join(home, "artifacts")).some((entry) => !entry.directory), "the run stored artifacts");
  assert.deepEqual(notPrivateUnder(join(home, "artifacts")), []);
  assert.deepEqual(notPrivateUnder(join(home, "postgres")).filter((entry) => !entry.includes("postmaster")), []);
  assert.equal(statSync(join(home, "postgres.password")).mode & 0o777, 0o600);
  assert.equal(statSync(join(home, "admin-token")).mode & 0o777, 0o600);

  const again = await startUp(["--workers", "0", "--no-defaults"], env, cleanups, { detached: true });
  const listed = await again.gql<{ experiments: { nodes: Array<{ name: string }> } }>(`{ experiments { nodes { name } } }`);
  assert.deepEqual(listed.data?.experiments.nodes, [{ name: "shutdown" }], JSON.stringify(listed));
  process.kill(-again.child.pid!, "SIGINT");
  const second = await exitWithin(again.done, 60_000);
  assert.equal(second?.code, 0, again.output());
  assert.deepEqual(processesNaming(join(home, "postgres")), []);
});
