/**
 * Restarts under a running experiment: the server (`swamp up` over DATABASE_URL and NATS_URL)
 * killed with SIGKILL and started again, and the NATS server itself restarted. Both experiments
 * complete with the masks of `swamp run`, recording nothing twice. And a worker with wrong NATS
 * credentials is refused with one clear line.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import pg from "pg";
import { fleetNames } from "../../schema/subjects.js";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { connectToNats } from "../../transport/nats/connection.js";
import { deleteFleetResources } from "../../transport/nats/fleet-resources.js";
import { createNatsTransport } from "../../transport/nats/nats-transport.js";
import { jetstreamManager } from "@nats-io/jetstream";
import { runSwamp, tempDir } from "../helpers/cli.js";
import { TEST_ADMIN_DATABASE_URL } from "../server/support/test-server.js";
import { CaptureLogger } from "../transport/support/capture-logger.js";
import { NATS_TEST_URL, uniqueNamespace } from "../transport/support/implementations.js";
import { NatsServerProcess } from "../transport/support/nats-server-process.js";
import { waitFor } from "../transport/support/waiting.js";
import { referenceRun, slowConfig, startFleet, startWorkerProcess, storedAccuracies, storedMasks, storedMetricCounts, sqlOf, type WorkerProcess } from "./support/fleet.js";
import { waitForWorkerLine, watchMetrics } from "./support/observe.js";
import { startUp } from "./support/up-process.js";

const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});


describe("the server killed with SIGKILL in the middle of an experiment", () => {
  test("resumes when started again, recording no cycle, result, artifact or metric point twice", async () => {
    const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "fleet_restart");
    cleanups.push(() => database.drop());
    const home = tempDir("restart");
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const namespace = uniqueNamespace();
    cleanups.push(async () => {
      const admin = await connectToNats({ url: NATS_TEST_URL }, new CaptureLogger());
      await deleteFleetResources(admin, await jetstreamManager(admin), fleetNames(namespace));
      await admin.close();
    });
    const env = { DATABASE_URL: database.url, NATS_URL: NATS_TEST_URL, SWAMP_NATS_NAMESPACE: namespace, SWAMP_HOME: home };
    const first = await startUp(["--workers", "0", "--no-defaults"], env, cleanups);
    assert.match(first.output(), new RegExp(`^tasks:\\s+NATS at ${NATS_TEST_URL} \\(namespace ${namespace}\\)`, "m"));
    const workers: WorkerProcess[] = [startWorkerProcess({ namespace, natsUrl: NATS_TEST_URL }, "restart-worker-1"), startWorkerProcess({ namespace, natsUrl: NATS_TEST_URL }, "restart-worker-2")];
    cleanups.push(() => Promise.all(workers.map((worker) => worker.kill("SIGTERM"))).then(() => undefined));

    const config = slowConfig("fleet-server-restart", 13);
    const reference = referenceRun(config);
    const created = await first.gql<{ createExperiment: { id: string } }>(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, { config });
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const id = created.data!.createExperiment.id;

    // Kill the server once cycle 1 trains: its particles' results then arrive while it is down.
    const observer = await createNatsTransport({ url: NATS_TEST_URL, namespace, logger: new CaptureLogger() });
    cleanups.push(() => observer.close());
    const watch = await watchMetrics(observer, id);
    await waitFor("cycle 1's particles to train", () => watch.batches.some((batch) => batch.cycle === 1 && batch.particle !== undefined), 90_000);
    first.child.kill("SIGKILL");
    assert.equal((await first.done).signal, "SIGKILL");
    await waitFor("cycle 1's particles to finish while the server is down", () => Date.now() - watch.lastAt() > 1_500, 30_000);

    const second = await startUp(["--workers", "0", "--no-defaults"], env, cleanups);
    assert.match(second.output(), /resumed 1 unfinished experiment\(s\)/);
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    cleanups.push(() => db.end());
    const status = async () => (await db.query<{ status: string; error: string | null }>(`SELECT status, error FROM experiments WHERE id = $1`, [id])).rows[0]!;
    await waitFor("the experiment to finish", async () => ["completed", "failed"].includes((await status()).status), 90_000);
    assert.equal((await status()).status, "completed", (await status()).error ?? "");
    await watch.stop();
    assert.equal((await second.interrupt()).code, 0, second.output());

    const expected = await reference;
    const sql = sqlOf(db);
    const masks = await storedMasks(sql, id);
    for (const [cycle, mask] of expected.masks) assert.ok(masks.get(cycle)?.equals(mask), `the mask of cycle ${cycle} equals swamp run's`);
    assert.deepEqual(await storedAccuracies(sql, id), expected.accuracies);
    const count = async (sql: string) => (await db.query<{ n: number }>(sql, [id])).rows[0]!.n;
    assert.equal(await count(`SELECT count(*)::int AS n FROM cycles WHERE experiment_id = $1`), 2);
    assert.equal(await count(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`), 7);
    // Seven results: their weights and one next mask (TF.js copies are made on download, not stored).
    assert.equal(await count(`SELECT count(*)::int AS n FROM artifacts WHERE experiment_id = $1`), 8, "each artifact registered once");
    // Every stored series holds each step once (storedMetricCounts checks it), and never more than swamp run wrote.
    for (const [series, points] of await storedMetricCounts(sql, id)) {
      assert.ok(points <= (expected.metricsBySeries.get(series) ?? 0), `series ${series}: ${points} points, swamp run has ${expected.metricsBySeries.get(series)}`);
    }
  });
});

describe("a NATS server of the test's own, with credentials", () => {
  let nats: NatsServerProcess;

  test("a worker with the wrong password is refused with one clear line", async () => {
    nats = await NatsServerProcess.start(["--user", "swamp", "--pass", "right-password"]);
    cleanups.push(() => nats.dispose());
    const refused = await runSwamp(["worker", "--slots", "1"], { NATS_URL: nats.url, NATS_USER: "swamp", NATS_PASSWORD: "wrong-password", SWAMP_NATS_NAMESPACE: "" });
    assert.equal(refused.code, 1);
    const lines = refused.stderr.split("\n").filter((line) => line.length > 0);
    assert.equal(lines.length, 1, refused.stderr);
    assert.match(lines[0]!, /authorization failed \(check NATS_USER\/NATS_PASSWORD or NATS_TOKEN\)/);
    assert.doesNotMatch(refused.stderr, /wrong-password/);
  });

  test("restarted under a running experiment, the experiment still completes with the masks of swamp run", async () => {
    const fleet = await startFleet({ label: "nats_restart", natsUrl: nats.url, natsAuth: { user: "swamp", password: "right-password" } });
    cleanups.push(() => fleet.close());
    const auth = { NATS_USER: "swamp", NATS_PASSWORD: "right-password" };
    const workers = [startWorkerProcess(fleet, "nats-restart-worker-1", auth), startWorkerProcess(fleet, "nats-restart-worker-2", auth)];
    cleanups.push(() => Promise.all(workers.map((worker) => worker.kill("SIGTERM"))).then(() => undefined));
    await Promise.all(workers.map((worker) => waitForWorkerLine(worker, /ready with 1 slot/)));
    const config = slowConfig("fleet-nats-restart", 13);
    const reference = referenceRun(config);
    const id = await fleet.submit(config);
    const watch = await watchMetrics(fleet.transport, id);
    await waitFor("a particle to train", () => watch.batches.some((batch) => batch.particle !== undefined), 60_000);
    await nats.restart();
    assert.equal(await fleet.waitForStatus(id, ["completed", "failed"], 120_000), "completed", (await fleet.experiment(id)).error ?? "");
    const expected = await reference;
    const masks = await storedMasks(fleet.server.server.dataSource, id);
    for (const [cycle, mask] of expected.masks) assert.ok(masks.get(cycle)?.equals(mask), `the mask of cycle ${cycle} equals swamp run's`);
    assert.deepEqual(await storedAccuracies(fleet.server.server.dataSource, id), expected.accuracies);
    assert.equal((await fleet.server.server.dataSource.query(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [id]))[0].n, 7);
    await watch.stop();
  });
});
