/**
 * Forged and hostile fleet messages, as anyone holding NATS credentials could send them: results
 * for tasks never queued, replays, results and metrics for finished and cancelled experiments,
 * failures reported for someone else's task, oversized keys, out-of-range indices, wrong types and
 * malformed live-feed events. Each is rejected (logged, nothing recorded or stored), while a
 * legitimate experiment trained alongside completes with the masks and accuracies of `swamp run`.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { taskIdFor, type TaskResultInput } from "../../schema/fleet-messages.js";
import { METRIC_POINT_LIMITS } from "../../schema/metrics.js";
import { NatsPubSub } from "../../transport/nats/nats-pubsub.js";
import { encodeMessage } from "../../transport/message-codec.js";
import { waitFor } from "../transport/support/waiting.js";
import { waitForWorkerLine } from "./support/observe.js";
import { referenceRun, startFleet, startWorkerProcess, storedAccuracies, storedMasks, tinyConfig, type Fleet, type WorkerProcess } from "./support/fleet.js";

const MALLORY = "mallory";
const config = tinyConfig({ name: "fleet-adversarial" });

let fleet: Fleet;
let worker: WorkerProcess;
/** Cancelled before any worker ran: it has no recorded result at all. */
let cancelled: string;
/** Completed before the attack. */
let finished: string;

const query = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> => (await fleet.server.server.dataSource.query(sql, params)) as T[];
const countOf = async (sql: string, params: unknown[] = []): Promise<number> => (await query<{ n: number }>(sql, params))[0]!.n;

before(async () => {
  fleet = await startFleet({ label: "adversarial" });
  cancelled = await fleet.submit(tinyConfig({ name: "fleet-adversarial-cancelled" }));
  const cancel = await fleet.gql(`mutation($id: ID!) { cancelExperiment(id: $id) { status } }`, { id: cancelled });
  assert.equal(cancel.errors, undefined, JSON.stringify(cancel.errors));
  worker = startWorkerProcess(fleet, "adversarial-worker");
  await waitForWorkerLine(worker, /ready with 1 slot/);
  finished = await fleet.submit(config);
  assert.equal(await fleet.waitForStatus(finished, ["completed", "failed"]), "completed", (await fleet.experiment(finished)).error ?? "");
});

after(async () => {
  await worker?.kill("SIGTERM");
  await fleet?.close();
});

function particleResult(experimentId: string, cycle: number, particle: number, weights: { sha256: string; size: number }): TaskResultInput {
  return {
    outcome: "succeeded",
    kind: "train-particle",
    taskId: taskIdFor({ experimentId, kind: "train-particle", cycle, particle }),
    experimentId,
    workerId: MALLORY,
    attempt: 1,
    finishedAt: Date.now(),
    cycle,
    particle,
    outputs: { weights },
    numbers: { orderSeed: 1, accuracy: 0.99, loss: 0.01, epochLosses: [0.01], swaSnapshots: 0, seconds: 1, examplesPerSecond: 1 },
  };
}

function failure(experimentId: string, taskId: string, kind: "pretrain" | "train-particle" | "aggregate-cycle"): TaskResultInput {
  return { outcome: "failed", kind, taskId, experimentId, workerId: MALLORY, attempt: 1, finishedAt: Date.now(), error: "forged failure" };
}

function metricBatch(experimentId: string, sequence: number, point: Record<string, unknown> = {}, batch: Record<string, unknown> = {}) {
  return {
    experimentId,
    taskId: taskIdFor({ experimentId, kind: "train-particle", cycle: 0, particle: 0 }),
    workerId: MALLORY,
    // Not a (task, attempt, sequence) the real worker used, which would be dropped as already seen.
    attempt: 99,
    cycle: 0,
    particle: 0,
    sequence,
    points: [{ cycle: 0, particle: 0, key: "forged/loss", step: 1_000_000 + sequence, epoch: 1, value: 42, time: Date.now(), ...point }],
    ...batch,
  };
}

test("forged results, metric batches and live-feed events are rejected while a legitimate experiment completes with correct results", async () => {
  const { names, connection } = fleet.transport;
  const js = jetstream(connection);
  const reference = referenceRun(config);
  const forgedWeights = await fleet.transport.artifacts.put(new TextEncoder().encode("forged weights"));
  const finishedBefore = {
    ledger: await countOf(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [finished]),
    series: await countOf(`SELECT count(*)::int AS n FROM metric_series WHERE experiment_id = $1`, [finished]),
    particles: await query(`SELECT * FROM particles WHERE experiment_id = $1 ORDER BY cycle_index, particle_index`, [finished]),
  };

  const legitimate = await fleet.submit(config);
  await fleet.waitForStatus(legitimate, ["running", "completed", "failed"], 30_000);
  const ignoredBefore = fleet.server.coordinator.stats.resultsIgnored;
  const duplicatesBefore = fleet.server.coordinator.stats.resultsDuplicate;

  // Results. 1: a success for a task never queued (the last aggregate, long before it is due).
  await fleet.transport.results.publish({
    outcome: "succeeded",
    kind: "aggregate-cycle",
    taskId: taskIdFor({ experimentId: legitimate, kind: "aggregate-cycle", cycle: 1 }),
    experimentId: legitimate,
    workerId: MALLORY,
    attempt: 1,
    finishedAt: Date.now(),
    cycle: 1,
    outputs: { weights: forgedWeights, nextMask: null },
    numbers: { accuracy: 1, loss: 0, sparsity: 0.2, alive: 1, total: 1, layers: [], seconds: 1 },
  });
  // 2: a `failed` for a task never queued; 3: a `failed` for a particle someone else trains.
  await fleet.transport.results.publish(failure(legitimate, taskIdFor({ experimentId: legitimate, kind: "aggregate-cycle", cycle: 1 }), "aggregate-cycle"));
  await fleet.transport.results.publish(failure(legitimate, taskIdFor({ experimentId: legitimate, kind: "train-particle", cycle: 0, particle: 0 }), "train-particle"));
  // 4: a success for a cancelled experiment; 5: a `failed` for a finished experiment's task.
  await fleet.transport.results.publish({ outcome: "succeeded", kind: "pretrain", taskId: `${cancelled}:pretrain`, experimentId: cancelled, workerId: MALLORY, attempt: 1, finishedAt: Date.now(), outputs: { weights: forgedWeights }, numbers: { seconds: 1 } });
  await fleet.transport.results.publish(failure(finished, `${finished}:pretrain`, "pretrain"));
  // 6: a replay of a recorded result with better numbers.
  const [recorded] = await query<{ outputs: { weights: { sha256: string; size: number } } }>(`SELECT outputs FROM task_results WHERE task_id = $1`, [
    taskIdFor({ experimentId: finished, kind: "train-particle", cycle: 1, particle: 0 }),
  ]);
  await fleet.transport.results.publish(particleResult(finished, 1, 0, recorded!.outputs.weights));
  // 7: wrong types (a number for the task id, a string for the attempt), straight onto the stream.
  await js.publish(names.resultSubject(legitimate), encodeMessage({ ...failure(legitimate, "x", "pretrain"), taskId: 42, attempt: "1" }));
  await waitFor(
    "the forged results to be consumed",
    async () =>
      fleet.server.coordinator.stats.resultsIgnored === ignoredBefore + 5 &&
      fleet.server.coordinator.stats.resultsDuplicate === duplicatesBefore + 1 &&
      (await fleet.transport.results.backlog()) === 0,
    30_000,
  );
  const ignored = (reason: string) => fleet.lines.filter((line) => line.includes("ignored the result of") && line.includes(reason));
  assert.equal(ignored(`${legitimate}:aggregate-cycle:1: the task was never queued`).length, 2, fleet.lines.join("\n"));
  assert.equal(ignored(`${cancelled}:pretrain: the experiment is cancelled`).length, 1);
  assert.equal(ignored(`${finished}:pretrain: the task's result was already recorded`).length, 1);
  assert.equal(fleet.logger.matching(/rejected malformed result message .*taskId: Expected string, received number; attempt: Expected number, received string/).length, 1);

  // Metric batches. 8: for the finished experiment; 9: for the cancelled one (both valid on the wire).
  await fleet.transport.metrics.publish(metricBatch(finished, 0));
  await fleet.transport.metrics.publish(metricBatch(cancelled, 0));
  // 10: an oversized key; 11-13: step, cycle and particle out of range; 14: points of the wrong type.
  const raw = (batch: unknown) => connection.publish(names.metricsSubject(legitimate), encodeMessage(batch));
  raw(metricBatch(legitimate, 1, { key: "k".repeat(METRIC_POINT_LIMITS.keyLength + 1) }));
  raw(metricBatch(legitimate, 2, { step: METRIC_POINT_LIMITS.maxStep + 1 }));
  raw(metricBatch(legitimate, 3, { cycle: METRIC_POINT_LIMITS.maxCycle + 1 }, { cycle: METRIC_POINT_LIMITS.maxCycle + 1 }));
  raw(metricBatch(legitimate, 4, { particle: METRIC_POINT_LIMITS.maxParticle + 1 }, { particle: METRIC_POINT_LIMITS.maxParticle + 1 }));
  raw({ ...metricBatch(legitimate, 5), points: "lots" });
  await waitFor("the metric batches to be refused", () => fleet.logger.matching(/rejected malformed metric batch message/).length === 5 && fleet.lines.filter((line) => /dropped 1 metric point\(s\)/.test(line)).length === 2, 20_000);
  const rejections = fleet.logger.matching(/rejected malformed metric batch message/).join("\n");
  for (const field of ["points.0.key", "points.0.step", "points.0.cycle", "points.0.particle", "points: Expected array"]) assert.ok(rejections.includes(field), `${field} in ${rejections}`);
  assert.ok(fleet.lines.some((line) => line.includes(`of experiment ${finished}`) && line.includes("the experiment is completed, not running")));
  assert.ok(fleet.lines.some((line) => line.includes(`of experiment ${cancelled}`) && line.includes("the experiment is cancelled, not running")));

  // Live-feed events. 15: not JSON; 16: an unknown status; 17: another experiment's id; then a valid sentinel.
  const feedLines: string[] = [];
  const feed = new NatsPubSub(connection, { namespace: fleet.namespace, log: (line) => feedLines.push(line) });
  const updates = await feed.subscribe("experiment-updated", legitimate);
  const subject = feed.subjectOf("experiment-updated", legitimate);
  connection.publish(subject, "{not json");
  connection.publish(subject, JSON.stringify({ experimentId: legitimate, status: "hacked", updatedAt: new Date().toISOString() }));
  connection.publish(subject, JSON.stringify({ experimentId: finished, status: "running", updatedAt: new Date().toISOString() }));
  const sentinel = { experimentId: legitimate, status: "running" as const, updatedAt: new Date().toISOString() };
  await feed.publish("experiment-updated", legitimate, sentinel);
  let next = await updates.next();
  // The server's own updates of the legitimate experiment may arrive too; none of the forged ones does.
  while (!next.done && next.value.updatedAt !== sentinel.updatedAt) {
    assert.notEqual(next.value.status, "hacked");
    assert.equal(next.value.experimentId, legitimate);
    next = await updates.next();
  }
  assert.deepEqual(next.value, sentinel);
  await updates.return();
  await feed.close();
  assert.equal(feedLines.filter((line) => line.includes("dropped")).length, 3, feedLines.join("\n"));
  assert.ok(feedLines.some((line) => /status: Invalid enum value/.test(line)));
  assert.ok(feedLines.some((line) => /experimentId: must be/.test(line)));

  // The legitimate experiment completes with the masks and accuracies of swamp run.
  assert.equal(await fleet.waitForStatus(legitimate, ["completed", "failed"]), "completed", (await fleet.experiment(legitimate)).error ?? "");
  const expected = await reference;
  const masks = await storedMasks(fleet.server.server.dataSource, legitimate);
  assert.deepEqual([...masks.keys()], [...expected.masks.keys()]);
  for (const [cycle, mask] of expected.masks) assert.ok(masks.get(cycle)!.equals(mask), `the mask of cycle ${cycle} equals swamp run's`);
  assert.deepEqual(await storedAccuracies(fleet.server.server.dataSource, legitimate), expected.accuracies);
  assert.equal(await countOf(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [legitimate]), 7);

  // Nothing forged was stored anywhere.
  assert.equal(await countOf(`SELECT count(*)::int AS n FROM task_results WHERE worker_id = $1`, [MALLORY]), 0);
  assert.equal(await countOf(`SELECT count(*)::int AS n FROM metric_series WHERE key LIKE 'forged/%' OR length(key) > $1`, [METRIC_POINT_LIMITS.keyLength]), 0);
  assert.equal(await countOf(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [cancelled]), 0);
  assert.equal(await countOf(`SELECT count(*)::int AS n FROM artifacts WHERE experiment_id = $1`, [cancelled]), 0);
  assert.equal((await fleet.experiment(cancelled)).status, "cancelled");
  assert.equal((await fleet.experiment(finished)).status, "completed");
  assert.equal(await countOf(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [finished]), finishedBefore.ledger);
  assert.equal(await countOf(`SELECT count(*)::int AS n FROM metric_series WHERE experiment_id = $1`, [finished]), finishedBefore.series);
  assert.deepEqual(await query(`SELECT * FROM particles WHERE experiment_id = $1 ORDER BY cycle_index, particle_index`, [finished]), finishedBefore.particles);
  assert.equal(await countOf(`SELECT count(*)::int AS n FROM particles WHERE experiment_id = $1 AND (status <> 'completed' OR error IS NOT NULL)`, [legitimate]), 0);
});
