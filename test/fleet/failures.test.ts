/**
 * The fleet when things go wrong: a worker killed in the middle of a particle, a result delivered
 * twice, a corrupted artifact, a task that keeps failing, a cancellation while workers train, and
 * malformed task, result and metric messages.
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { FLEET_MESSAGE_VERSION, taskIdFor, type TaskResultInput } from "../../schema/fleet-messages.js";
import { encodeMessage } from "../../transport/message-codec.js";
import { sleep, waitFor } from "../transport/support/waiting.js";
import { waitForWorkerLine, watchMetrics } from "./support/observe.js";
import {
  referenceRun,
  slowConfig,
  startFleet,
  startWorkerProcess,
  storedAccuracies,
  storedMasks,
  tinyConfig,
  type Fleet,
  type WorkerProcess,
} from "./support/fleet.js";

/** Particles of a few seconds each, long enough to be interrupted in the middle. */

const count = async (fleet: Fleet, sql: string, params: unknown[]): Promise<number> =>
  ((await fleet.server.server.dataSource.query(sql, params)) as Array<{ n: number }>)[0]!.n;

describe("a worker killed with SIGKILL in the middle of a particle", () => {
  let fleet: Fleet;
  let workers: WorkerProcess[];
  before(async () => {
    // Workers heartbeat every 5 s: one silent for 8 s is lost.
    fleet = await startFleet({ label: "kill", heartbeatTimeoutMs: 8_000 });
    workers = [startWorkerProcess(fleet, "kill-worker-1"), startWorkerProcess(fleet, "kill-worker-2")];
    await Promise.all(workers.map((worker) => waitForWorkerLine(worker, /ready with 1 slot/)));
  });
  after(async () => {
    await Promise.all(workers.map((worker) => worker.kill("SIGTERM")));
    await fleet.close();
  });

  let experimentId: string;

  test("its task is delivered again and the experiment completes with the masks of an undisturbed run", async () => {
    // Particles long enough (10 epochs of 4096 examples) that the one interrupted cannot finish before the kill lands,
    // even with the native kernels on an idle machine: the first metric batch comes half a second into a particle.
    const config = slowConfig("fleet-kill", 7, { examples: 4096, epochs: 10 });
    const reference = referenceRun(config);
    experimentId = await fleet.submit(config);
    const watch = await watchMetrics(fleet.transport, experimentId);
    await waitFor("a particle's first metric batch", () => watch.batches.some((batch) => batch.particle !== undefined), 60_000);
    const victimBatch = watch.batches.find((batch) => batch.particle !== undefined)!;
    const victim = workers.find((worker) => worker.id === victimBatch.workerId)!;
    await victim.kill("SIGKILL");
    assert.equal((await victim.exited).signal, "SIGKILL");

    assert.equal(await fleet.waitForStatus(experimentId, ["completed", "failed"], 120_000), "completed", (await fleet.experiment(experimentId)).error ?? "");
    await watch.stop();
    const expected = await reference;
    const masks = await storedMasks(fleet.server.server.dataSource, experimentId);
    for (const [cycle, mask] of expected.masks) assert.ok(masks.get(cycle)?.equals(mask), `the mask of cycle ${cycle} equals swamp run's`);
    assert.deepEqual(await storedAccuracies(fleet.server.server.dataSource, experimentId), expected.accuracies);
    const attempts: Array<{ attempt: number; worker_id: string }> = await fleet.server.server.dataSource.query(
      `SELECT attempt, worker_id FROM task_results WHERE task_id = $1`,
      [victimBatch.taskId],
    );
    assert.equal(attempts.length, 1);
    assert.ok(attempts[0]!.attempt >= 2, "the interrupted task was recorded from a later delivery");
    assert.notEqual(attempts[0]!.worker_id, victim.id);
    assert.equal(await count(fleet, `SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [experimentId]), 7);
    // Seven results: their weights and one next mask (TF.js copies are made on download, not stored).
    assert.equal(await count(fleet, `SELECT count(*)::int AS n FROM artifacts WHERE experiment_id = $1`, [experimentId]), 8);

    type Workers = { workers: Array<{ id: string; state: string }> };
    let seen: Workers | undefined;
    await waitFor("the killed worker to show as lost", async () => {
      seen = (await fleet.gql<Workers>(`{ workers { id state } }`)).data ?? undefined;
      return seen?.workers.find((w) => w.id === victim.id)?.state === "LOST";
    }, 20_000);
    assert.notEqual(seen!.workers.find((w) => w.id !== victim.id)?.state, "LOST", "the live worker keeps heartbeating");
  });

  test("a result delivered twice counts once", async () => {
    const taskId = taskIdFor({ experimentId, kind: "train-particle", cycle: 1, particle: 0 });
    const [row] = (await fleet.server.server.dataSource.query(`SELECT outputs, numbers FROM task_results WHERE task_id = $1`, [taskId])) as Array<{
      outputs: { weights: { sha256: string; size: number } };
      numbers: Record<string, number | number[]>;
    }>;
    const before = {
      ledger: await count(fleet, `SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [experimentId]),
      artifacts: await count(fleet, `SELECT count(*)::int AS n FROM artifacts WHERE experiment_id = $1`, [experimentId]),
      points: await count(fleet, `SELECT coalesce(sum(point_count), 0)::int AS n FROM metric_series WHERE experiment_id = $1`, [experimentId]),
      particle: await fleet.server.server.dataSource.query(`SELECT * FROM particles WHERE experiment_id = $1 AND cycle_index = 1 AND particle_index = 0`, [experimentId]),
    };
    const duplicates = fleet.server.coordinator.stats.resultsDuplicate;
    for (const attempt of [7, 8]) {
      const replay = {
        version: FLEET_MESSAGE_VERSION,
        outcome: "succeeded",
        kind: "train-particle",
        taskId,
        experimentId,
        workerId: "replaying-worker",
        attempt,
        finishedAt: Date.now(),
        cycle: 1,
        particle: 0,
        outputs: row!.outputs,
        numbers: { ...row!.numbers, accuracy: 0.125 },
      } as TaskResultInput;
      await fleet.transport.results.publish(replay);
    }
    await waitFor("both replays to be consumed", () => fleet.server.coordinator.stats.resultsDuplicate === duplicates + 2, 20_000);
    assert.equal(await count(fleet, `SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [experimentId]), before.ledger);
    assert.equal(await count(fleet, `SELECT count(*)::int AS n FROM artifacts WHERE experiment_id = $1`, [experimentId]), before.artifacts);
    assert.equal(await count(fleet, `SELECT coalesce(sum(point_count), 0)::int AS n FROM metric_series WHERE experiment_id = $1`, [experimentId]), before.points);
    assert.deepEqual(
      await fleet.server.server.dataSource.query(`SELECT * FROM particles WHERE experiment_id = $1 AND cycle_index = 1 AND particle_index = 0`, [experimentId]),
      before.particle,
      "the particle keeps the accuracy of its first recorded result",
    );
    assert.deepEqual(await fleet.transport.tasks.queuedTaskIds(experimentId), [], "a completed experiment gets no new tasks");
  });
});

describe("a corrupted artifact", () => {
  let fleet: Fleet;
  let worker: WorkerProcess | undefined;
  before(async () => {
    fleet = await startFleet({ label: "corrupt" });
  });
  after(async () => {
    await worker?.kill("SIGTERM");
    await fleet.close();
  });

  test("is detected by the worker that reads it and fails the task with a clear reason, without retries", async () => {
    const experimentId = await fleet.submit(tinyConfig({ name: "fleet-corrupt" }));
    // This test pretrains itself: it stores weights, then damages them in the object store.
    const bytes = randomBytes(2048);
    let weights: { sha256: string; size: number } | undefined;
    const consumer = fleet.transport.tasks.consume(async (delivery) => {
      assert.equal(delivery.task.kind, "pretrain");
      weights = await fleet.transport.artifacts.put(bytes, { format: "swamp-weights" });
      const bucket = await new Objm(fleet.transport.connection).open(fleet.transport.names.artifactsBucket);
      await bucket.putBlob({ name: weights.sha256 }, randomBytes(2048));
      await fleet.transport.results.publish({
        outcome: "succeeded",
        kind: "pretrain",
        taskId: delivery.task.taskId,
        experimentId,
        workerId: "test-pretrainer",
        attempt: delivery.deliveryCount,
        finishedAt: Date.now(),
        outputs: { weights },
        numbers: { seconds: 0.01 },
      });
    });
    await waitFor("the pretrain result to be recorded", async () => (await count(fleet, `SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [experimentId])) === 1, 30_000);
    await consumer.stop();

    worker = startWorkerProcess(fleet, "corrupt-worker");
    assert.equal(await fleet.waitForStatus(experimentId, ["failed", "completed"], 60_000), "failed");
    const { error } = await fleet.experiment(experimentId);
    assert.match(error ?? "", new RegExp(`^particle [01] of cycle 0 failed: corrupt artifact sha256:${weights!.sha256} \\(swamp-weights\\): stored bytes hash to sha256:[0-9a-f]{64}$`));
    const failed: Array<{ error: string }> = await fleet.server.server.dataSource.query(`SELECT error FROM particles WHERE experiment_id = $1 AND status = 'failed'`, [experimentId]);
    assert.ok(failed.length >= 1);
    assert.match(failed[0]!.error, /^corrupt artifact sha256:/);
    assert.match(worker.stderr(), /corrupt artifact/);
    assert.doesNotMatch(worker.stderr(), /failed on delivery 2/, "a corrupt input is not retried");
    assert.deepEqual(await fleet.transport.tasks.queuedTaskIds(experimentId), [], "the failed experiment's other tasks are removed");
  });
});

describe("workers training while things go wrong", () => {
  let fleet: Fleet;
  let workers: WorkerProcess[];
  before(async () => {
    fleet = await startFleet({ label: "trouble" });
    workers = [startWorkerProcess(fleet, "trouble-worker-1"), startWorkerProcess(fleet, "trouble-worker-2")];
    await Promise.all(workers.map((worker) => waitForWorkerLine(worker, /ready with 1 slot/)));
  });
  after(async () => {
    await Promise.all(workers.map((worker) => worker.kill("SIGTERM")));
    await fleet.close();
  });

  test("a task that keeps failing ends the experiment as failed after the delivery limit, not in a loop", async () => {
    // Inside the default data roots (the server refuses any other data.dir), but not there.
    const experimentId = await fleet.submit(tinyConfig({ name: "fleet-unloadable", data: { name: "fashion-mnist", dir: "/usr/share/datasets/nonexistent/swamp-data", trainSubset: 256, testSubset: 128 } }));
    assert.equal(await fleet.waitForStatus(experimentId, ["failed", "completed"], 60_000), "failed");
    const { error } = await fleet.experiment(experimentId);
    assert.match(error ?? "", /^pretraining to the rewind point failed: failed on delivery 3 of 3: .*\/nonexistent\/swamp-data/);
    const attempts = () => workers.map((worker) => worker.stderr().match(new RegExp(`(?<!task )${experimentId}:pretrain failed on delivery`, "g"))?.length ?? 0).reduce((a, b) => a + b, 0);
    assert.equal(attempts(), 3);
    await sleep(1_500);
    assert.equal(attempts(), 3, "no delivery after the limit");
    assert.deepEqual(await fleet.transport.tasks.queuedTaskIds(experimentId), []);
  });

  test("global pruning that empties a layer fails the aggregate task at once with the cycle and layer, and the experiment with it", async () => {
    const experimentId = await fleet.submit(
      tinyConfig({ name: "fleet-emptied-layer", method: { name: "imp" }, pruning: { rate: 0.9, cycles: 5 }, training: { epochs: 1, rewindEpochs: 0, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 64 } }),
    );
    assert.equal(await fleet.waitForStatus(experimentId, ["failed", "completed"], 60_000), "failed");
    const { error, cyclesCompleted } = await fleet.experiment(experimentId);
    assert.match(error ?? "", /pruning after cycle \d leaves layer fc\d with none of its \d+ weights, so cycle \d cannot train/);
    assert.doesNotMatch(error ?? "", /delivery/, "not retried: another delivery would empty the same layer");
    assert.ok(cyclesCompleted < 6);
  });

  test("cancelling an experiment removes its queued tasks and stops the workers' running ones within seconds", async () => {
    // Particles long enough (24 epochs of 8192 examples, seconds each with the native kernels) that the one on the
    // worker still warm from pretraining does not finish before the other worker's has started.
    const experimentId = await fleet.submit(slowConfig("fleet-cancelled", 9, { examples: 8192, epochs: 24 }));
    const watch = await watchMetrics(fleet.transport, experimentId);
    await waitFor("both particles to train", () => new Set(watch.batches.filter((b) => b.particle !== undefined).map((b) => b.particle)).size === 2, 60_000);
    const particlesFinished = await count(fleet, `SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1 AND kind = 'train-particle'`, [experimentId]);
    assert.equal(particlesFinished, 0, "a particle finished before the cancellation: this test's particles are too short for this machine");
    const cancelled = await fleet.gql<{ cancelExperiment: { status: string } }>(`mutation($id: ID!) { cancelExperiment(id: $id) { status } }`, { id: experimentId });
    assert.deepEqual(cancelled.data, { cancelExperiment: { status: "CANCELLED" } });
    const cancelledAt = Date.now();
    await Promise.all(workers.map((worker) => waitForWorkerLine(worker, new RegExp(`cancelled ${experimentId}:train-particle`), 5_000)));
    await waitFor("the workers to stop sending metrics", () => Date.now() - Math.max(watch.lastAt(), cancelledAt) > 1_500, 10_000);
    assert.ok(watch.lastAt() - cancelledAt < 3_000, `metrics kept coming ${watch.lastAt() - cancelledAt} ms after the cancellation`);
    await watch.stop();
    assert.deepEqual(await fleet.transport.tasks.queuedTaskIds(experimentId), []);
    assert.equal(await count(fleet, `SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1 AND kind <> 'pretrain'`, [experimentId]), 0);

    // Both slots are free again: the next experiment trains at once.
    const next = await fleet.submit(tinyConfig({ name: "fleet-after-cancel" }));
    assert.equal(await fleet.waitForStatus(next, ["completed", "failed"], 60_000), "completed");
    assert.equal((await fleet.experiment(experimentId)).status, "cancelled");

    // Retried, it resumes from what it recorded: the pretrain result is kept, not trained again.
    const pretrainRecorded = await fleet.server.server.dataSource.query(`SELECT recorded_at FROM task_results WHERE task_id = $1`, [`${experimentId}:pretrain`]);
    const retried = await fleet.gql<{ retryExperiment: { status: string } }>(`mutation($id: ID!) { retryExperiment(id: $id) { status } }`, { id: experimentId });
    assert.equal(retried.errors, undefined, JSON.stringify(retried.errors));
    assert.equal(await fleet.waitForStatus(experimentId, ["completed", "failed"], 90_000), "completed");
    assert.deepEqual(await fleet.server.server.dataSource.query(`SELECT recorded_at FROM task_results WHERE task_id = $1`, [`${experimentId}:pretrain`]), pretrainRecorded);
    assert.equal(await count(fleet, `SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [experimentId]), 7);
  });

  test("malformed task, result and metric messages are rejected without effect", async () => {
    const { names, connection } = fleet.transport;
    const js = jetstream(connection);
    // An experiment of its own, so that this test does not depend on the ones before it.
    const experimentId = await fleet.submit(tinyConfig({ name: "fleet-malformed-target" }));
    assert.equal(await fleet.waitForStatus(experimentId, ["completed", "failed"], 60_000), "completed");
    const ledgerBefore = await count(fleet, `SELECT count(*)::int AS n FROM task_results`, []);
    const seriesBefore = await count(fleet, `SELECT count(*)::int AS n FROM metric_series`, []);

    // Tasks: not JSON, and JSON that is not a task. The workers drop them from the queue.
    await js.publish(names.taskSubject({ experimentId: "malformed", kind: "pretrain" }), new TextEncoder().encode("{not json"));
    await js.publish(names.taskSubject({ experimentId: "malformed", kind: "aggregate-cycle", cycle: 0 }), encodeMessage({ kind: "aggregate-cycle", taskId: "x" }));
    await waitFor("a worker to reject both tasks", () => (workers.map((w) => w.stderr()).join("").match(/rejected malformed task message/g) ?? []).length === 2, 15_000);
    await waitFor("the malformed tasks to leave the queue", async () => (await fleet.transport.tasks.queuedTaskIds("malformed")).length === 0, 10_000);

    // Results: not JSON; a result naming no stored experiment; one for a particle the experiment does not have.
    const ignoredBefore = fleet.server.coordinator.stats.resultsIgnored;
    await js.publish(names.resultSubject(experimentId), new TextEncoder().encode("garbage"));
    const stranger = randomUUID();
    const particleResult = (id: string, particle: number): TaskResultInput => ({
      outcome: "succeeded",
      kind: "train-particle",
      taskId: taskIdFor({ experimentId: id, kind: "train-particle", cycle: 0, particle }),
      experimentId: id,
      workerId: "confused-worker",
      attempt: 1,
      finishedAt: Date.now(),
      cycle: 0,
      particle,
      outputs: { weights: { sha256: "a".repeat(64), size: 10 } },
      numbers: { orderSeed: 1, accuracy: 0.5, loss: 1, epochLosses: [1], swaSnapshots: 0, seconds: 1, examplesPerSecond: 1 },
    });
    await fleet.transport.results.publish(particleResult(stranger, 0));
    await fleet.transport.results.publish(particleResult(experimentId, 9));
    await waitFor("the results to be consumed", async () => fleet.server.coordinator.stats.resultsIgnored === ignoredBefore + 2 && (await fleet.transport.results.backlog()) === 0, 15_000);
    assert.ok(fleet.logger.matching(/rejected malformed result message/).length >= 1);
    assert.equal(await count(fleet, `SELECT count(*)::int AS n FROM task_results`, []), ledgerBefore);
    assert.equal((await fleet.experiment(experimentId)).status, "completed");

    // Metrics: not JSON; points that contradict their batch; a batch of no stored experiment; then a
    // valid sentinel, which is not stored either: the experiment is no longer running.
    const batch = (id: string, key: string, sequence: number) => ({
      experimentId: id,
      taskId: taskIdFor({ experimentId: id, kind: "aggregate-cycle", cycle: 0 }),
      workerId: "confused-worker",
      attempt: 99,
      cycle: 0,
      sequence,
      points: [{ cycle: 0, key, step: 0, epoch: 0, value: 1, time: Date.now() }],
    });
    connection.publish(names.metricsSubject(experimentId), new TextEncoder().encode("[1, 2"));
    connection.publish(names.metricsSubject(experimentId), encodeMessage({ ...batch(experimentId, "malformed/contradicting", 0), points: [{ cycle: 5, key: "malformed/contradicting", step: 0, epoch: 0, value: 1, time: 1 }] }));
    await fleet.transport.metrics.publish(batch(stranger, "malformed/stranger", 0));
    await fleet.transport.metrics.publish(batch(experimentId, "sentinel", 1));
    await waitFor("the sentinel batch to be refused", () => fleet.lines.some((line) => line.includes(`dropped 1 metric point(s) of experiment ${experimentId}`) && line.includes("the experiment is completed, not running")), 10_000);
    assert.equal(await count(fleet, `SELECT count(*)::int AS n FROM metric_series`, []), seriesBefore, "no series was created");
    assert.equal(fleet.logger.matching(/rejected malformed metric batch message/).length, 2);
    assert.ok(fleet.lines.some((line) => line.includes(`dropped 1 metric point(s) of experiment ${stranger}`)));
  });
});
