/**
 * `swamp up` (what `npm start` runs): one command starts the server, the coordinator, PostgreSQL
 * and a local worker pool; it submits the default experiments into an empty database, prints the
 * GraphQL URL and a token, trains in embedded mode with the masks of `swamp run`, and stops on
 * Ctrl-C.
 */
import assert from "node:assert/strict";
import { chmodSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { tempDir } from "../helpers/cli.js";
import { TEST_ADMIN_DATABASE_URL } from "../server/support/test-server.js";
import { waitFor } from "../transport/support/waiting.js";
import { referenceRun, tinyConfig } from "./support/fleet.js";
import { startUp } from "./support/up-process.js";

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test("on a fresh home with embedded PostgreSQL it submits the default Fashion-MNIST experiments, and stops on Ctrl-C", async () => {
  // Embedded PostgreSQL runs as the postgres user when the tests run as root: it must reach the home.
  const parent = tempDir("up-fresh");
  chmodSync(parent, 0o755);
  const home = join(parent, "home");
  cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
  const up = await startUp(["--workers", "0"], { SWAMP_HOME: home, DATABASE_URL: "" }, cleanups);
  assert.match(up.output(), /^database:\s+embedded PostgreSQL/m);
  assert.match(up.output(), /^tasks:\s+in this process/m);
  await waitFor("both default experiments to be submitted", () => (up.output().match(/^submitted: /gm) ?? []).length === 2, 30_000);
  const listed = await up.gql<{ experiments: { nodes: Array<{ name: string; status: string; particlesPerCycle: number; cyclesPlanned: number }> } }>(
    `{ experiments(orderBy: { field: CREATED_AT, direction: ASC }) { nodes { name status particlesPerCycle cyclesPlanned } } }`,
  );
  assert.equal(listed.errors, undefined, JSON.stringify(listed.errors));
  assert.deepEqual(
    listed.data!.experiments.nodes.map((e) => [e.name, e.particlesPerCycle, e.cyclesPlanned]),
    [["fmnist-lenet-swamp-fast", 4, 26], ["fmnist-lenet-imp-fast", 1, 26]],
  );
  // Pretraining is queued (no workers in this process), so both are running.
  assert.ok(listed.data!.experiments.nodes.every((e) => e.status === "RUNNING"), JSON.stringify(listed.data));
  const stopped = await up.interrupt();
  assert.equal(stopped.code, 0, up.output());
  assert.match(up.output(), /SIGINT: stopping[\s\S]*\nstopped\n/);
});

test("its worker pool trains in embedded mode with the masks of swamp run, and a restart shows the same token", async () => {
  const home = tempDir("up-train");
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "fleet_up");
  cleanups.push(() => database.drop());
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const env = { SWAMP_HOME: home, DATABASE_URL: database.url };
  const first = await startUp(["--workers", "2", "--no-defaults"], env, cleanups);
  assert.match(first.output(), /^database:\s+DATABASE_URL/m);
  assert.doesNotMatch(first.output(), /^submitted: /m);
  const config = tinyConfig({ name: "up-embedded", seed: 5 });
  const reference = referenceRun(config);
  const created = await first.gql<{ createExperiment: { id: string } }>(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, { config });
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const id = created.data!.createExperiment.id;
  type View = { experiment: { status: string; error: string | null; cycles: Array<{ index: number; accuracy: number; maskArtifact: unknown }> } };
  let view: View | undefined;
  await waitFor("the experiment to finish", async () => {
    view = (await first.gql<View>(`query($id: ID!) { experiment(id: $id) { status error cycles { index accuracy } } }`, { id })).data;
    return view !== undefined && ["COMPLETED", "FAILED"].includes(view.experiment.status);
  }, 90_000);
  assert.equal(view!.experiment.status, "COMPLETED", view!.experiment.error ?? "");
  await waitFor("the terminal to show the experiment completed", () => /up-embedded\s+completed\s+2\/2 cycles/.test(first.output()), 10_000);
  const expected = await reference;
  assert.deepEqual(view!.experiment.cycles.map((c) => c.accuracy), expected.accuracies);
  const masks = await maskBits(database.url, id);
  for (const [cycle, mask] of expected.masks) assert.ok(masks.get(cycle)?.equals(mask), `the mask of cycle ${cycle} equals swamp run's`);
  assert.equal((await first.interrupt()).code, 0, first.output());

  const second = await startUp(["--workers", "0", "--no-defaults"], env, cleanups);
  assert.equal(second.token, first.token, "the saved token is still the admin token");
  assert.ok(!second.output().includes(first.token), "a token created by an earlier start is not printed again");
  assert.equal((await second.interrupt()).code, 0, second.output());
});

test("prints a token only when this start created it: never again on a restart, never from the environment, never on a second home", async () => {
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "up_tokens");
  cleanups.push(() => database.drop());
  const home = tempDir("up-tokens");
  const otherHome = tempDir("up-tokens-other");
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  cleanups.push(() => rmSync(otherHome, { recursive: true, force: true }));
  const args = ["--workers", "0", "--no-defaults"];
  const printedSecrets = (output: string) => output.match(/swamp_[A-Za-z0-9_-]{20,}/g) ?? [];

  const first = await startUp(args, { SWAMP_HOME: home, DATABASE_URL: database.url, SWAMP_ADMIN_TOKEN: "" }, cleanups);
  assert.deepEqual(printedSecrets(first.output()), [first.token], "the first start prints the token it created");
  assert.match(first.output(), /^token:\s+swamp_\S+ \(admin token created now, shown this once/m);
  assert.equal(statSync(join(home, "admin-token")).mode & 0o777, 0o600);
  assert.equal((await first.interrupt()).code, 0, first.output());

  const restarted = await startUp(args, { SWAMP_HOME: home, DATABASE_URL: database.url, SWAMP_ADMIN_TOKEN: "" }, cleanups);
  assert.deepEqual(printedSecrets(restarted.output()), []);
  assert.match(restarted.output(), new RegExp(`^token:\\s+in ${join(home, "admin-token")} \\(`, "m"));
  assert.equal((await restarted.interrupt()).code, 0, restarted.output());

  const withEnvironment = await startUp(args, { SWAMP_HOME: home, DATABASE_URL: database.url, SWAMP_ADMIN_TOKEN: "an-admin-token-from-the-environment" }, cleanups);
  assert.deepEqual(printedSecrets(withEnvironment.output()), []);
  assert.ok(!withEnvironment.output().includes("an-admin-token-from-the-environment"));
  assert.equal((await withEnvironment.interrupt()).code, 0, withEnvironment.output());

  const replica = await startUp(args, { SWAMP_HOME: otherHome, DATABASE_URL: database.url, SWAMP_ADMIN_TOKEN: "" }, cleanups);
  assert.deepEqual(printedSecrets(replica.output()), [], "a start on another home finds the admin token and neither creates nor prints one");
  assert.match(replica.output(), /^token:\s+not shown /m);
  assert.equal((await replica.interrupt()).code, 0, replica.output());
  const pg = await import("pg");
  const client = new pg.default.Client({ connectionString: database.url });
  await client.connect();
  try {
    assert.equal((await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_tokens`)).rows[0]!.n, 1);
  } finally {
    await client.end();
  }
});

async function maskBits(url: string, experimentId: string): Promise<Map<number, Buffer>> {
  const pg = await import("pg");
  const client = new pg.default.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query<{ cycle_index: number; mask: Buffer }>(`SELECT cycle_index, mask FROM cycles WHERE experiment_id = $1`, [experimentId]);
    return new Map(rows.rows.map((row) => [row.cycle_index, row.mask]));
  } finally {
    await client.end();
  }
}
