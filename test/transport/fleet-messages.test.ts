/**
 * The fleet's message contracts and NATS names: valid messages parse to themselves, and every
 * malformed one is rejected whole with the field path and reason of each problem.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  createTaskMessage,
  InvalidMessageError,
  parseCancelMessage,
  parseJsonMessage,
  parseMetricBatch,
  parseTaskExhaustion,
  parseTaskId,
  parseTaskMessage,
  parseTaskResult,
  parseWorkerHeartbeat,
  taskIdFor,
  type MessageParseResult,
  type MessageProblem,
} from "../../schema/fleet-messages.js";
import { METRIC_POINT_LIMITS, metricPointProblems } from "../../schema/metrics.js";
import { fleetNames, InvalidNameError } from "../../schema/subjects.js";
import { aggregateTask, failureResult, heartbeat, metricBatch, particleResult, pretrainTask, ref, testConfig, trainParticleTask } from "./support/fleet-fixtures.js";

function problems<T>(result: MessageParseResult<T>): MessageProblem[] {
  assert.equal(result.ok, false, "expected the message to be rejected");
  return (result as { problems: MessageProblem[] }).problems;
}

function paths<T>(result: MessageParseResult<T>): string[] {
  return problems(result).map((problem) => problem.path).sort();
}

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe("task messages", () => {
  test("each kind parses back to itself after JSON, with its deterministic id", () => {
    for (const task of [pretrainTask("exp-1"), trainParticleTask("exp-1", 2, 1), aggregateTask("exp-1", 2)]) {
      assert.deepEqual(parseTaskMessage(roundTrip(task)), { ok: true, value: task });
    }
    assert.equal(pretrainTask("exp-1").taskId, "exp-1:pretrain");
    assert.equal(trainParticleTask("exp-1", 2, 1).taskId, "exp-1:train-particle:2:1");
    assert.equal(aggregateTask("exp-1", 2).taskId, "exp-1:aggregate-cycle:2");
    const last = aggregateTask("exp-1", 2);
    assert.equal(last.kind === "aggregate-cycle" && last.final, true);
    assert.deepEqual(trainParticleTask("exp-1", 2, 1), trainParticleTask("exp-1", 2, 1), "a republished task is identical");
  });

  test("task ids parse back to their identity; anything else is not a task id", () => {
    assert.deepEqual(parseTaskId("exp-1:train-particle:2:1"), { experimentId: "exp-1", kind: "train-particle", cycle: 2, particle: 1 });
    assert.deepEqual(parseTaskId("exp-1:aggregate-cycle:0"), { experimentId: "exp-1", kind: "aggregate-cycle", cycle: 0 });
    assert.deepEqual(parseTaskId(taskIdFor({ experimentId: "e", kind: "pretrain" })), { experimentId: "e", kind: "pretrain" });
    for (const bad of ["exp-1:pretrain:0", "exp-1:train-particle:2", "exp-1:aggregate-cycle:01", "e.x:pretrain", "exp-1:prune:0"]) {
      assert.equal(parseTaskId(bad), undefined, bad);
    }
  });

  test("missing and mistyped fields are named by path", () => {
    const task = roundTrip(trainParticleTask("exp-1", 1, 0)) as Record<string, unknown>;
    delete task.experimentId;
    (task.inputs as Record<string, unknown>).rewindWeights = { sha256: "xyz", size: -1 };
    const found = problems(parseTaskMessage(task));
    assert.deepEqual(found.map((p) => p.path).sort(), ["experimentId", "inputs.rewindWeights.sha256", "inputs.rewindWeights.size"]);
    assert.deepEqual(found.find((p) => p.path === "experimentId"), { path: "experimentId", message: "is required" });
    assert.match(found.find((p) => p.path === "inputs.rewindWeights.sha256")!.message, /64 lowercase hex digits/);
  });

  test("an unknown kind, unknown fields and an invalid config are rejected", () => {
    assert.deepEqual(problems(parseTaskMessage({ ...pretrainTask("e"), kind: "prune" })), [
      { path: "kind", message: 'must be one of "pretrain", "train-particle", "aggregate-cycle", "analyze"' },
    ]);
    assert.deepEqual(problems(parseTaskMessage({ ...pretrainTask("e"), cycle: 0 })), [{ path: "(root)", message: 'unknown field(s) "cycle"' }]);
    assert.deepEqual(paths(parseTaskMessage({ ...pretrainTask("e"), config: { ...testConfig, data: { name: "imagenet" } } })), ["config.data.name"]);
    assert.deepEqual(paths(parseTaskMessage(null)), ["(root)"]);
  });

  test("cross-field rules: id, config hash, particle and cycle ranges, per-particle inputs, final, dense mask", () => {
    assert.deepEqual(problems(parseTaskMessage({ ...pretrainTask("e"), taskId: "e:other" })), [{ path: "taskId", message: 'must be "e:pretrain" for this task' }]);
    assert.deepEqual(problems(parseTaskMessage({ ...pretrainTask("e"), configHash: "0".repeat(64) })), [{ path: "configHash", message: "does not match config" }]);
    const particle = trainParticleTask("e", 1, 1);
    assert.deepEqual(paths(parseTaskMessage({ ...particle, particle: 2, taskId: "e:train-particle:1:2" })), ["particle"]);
    assert.deepEqual(paths(parseTaskMessage({ ...particle, cycle: 3, taskId: "e:train-particle:3:1" })), ["cycle"]);
    assert.deepEqual(paths(parseTaskMessage({ ...particle, inputs: { ...particle.inputs, mask: null } })), ["inputs.mask"]);
    const aggregate = aggregateTask("e", 1);
    assert.deepEqual(paths(parseTaskMessage({ ...aggregate, final: true })), ["final"]);
    assert.deepEqual(paths(parseTaskMessage({ ...aggregate, inputs: { ...aggregate.inputs, particleWeights: [ref("c")] } })), ["inputs.particleWeights"]);
  });

  test("createTaskMessage refuses to build an invalid task", () => {
    assert.throws(
      () => createTaskMessage({ kind: "train-particle", experimentId: "e", config: testConfig, cycle: 0, particle: 9, inputs: { rewindWeights: ref("a"), mask: null } }),
      (error: unknown) => error instanceof InvalidMessageError && /^invalid task message: particle: must be less than config.method.particles \(2\)$/.test(error.message),
    );
  });
});

describe("results, metric batches, heartbeats, cancellations, exhaustion reports", () => {
  test("valid messages parse back to themselves", () => {
    assert.deepEqual(parseTaskResult(roundTrip(particleResult("e", 1, 1))), { ok: true, value: particleResult("e", 1, 1) });
    assert.deepEqual(parseTaskResult(roundTrip(failureResult("e"))), { ok: true, value: failureResult("e") });
    assert.deepEqual(parseMetricBatch(roundTrip(metricBatch("e", 3))), { ok: true, value: metricBatch("e", 3) });
    assert.deepEqual(parseMetricBatch(roundTrip(metricBatch("e", 3, undefined))), { ok: true, value: metricBatch("e", 3, undefined) });
    assert.deepEqual(parseWorkerHeartbeat(roundTrip(heartbeat())), { ok: true, value: heartbeat() });
    const minimalHeartbeat = { workerId: "w", host: "h", backend: "cpu", device: "cpu", slots: 1, busy: 0, time: 5 };
    assert.deepEqual(parseWorkerHeartbeat(minimalHeartbeat), { ok: true, value: { ...minimalHeartbeat, version: 1, runningTaskIds: [], stopping: false } });
    assert.deepEqual(parseCancelMessage({ experimentId: "e", time: 1 }), { ok: true, value: { version: 1, experimentId: "e", time: 1 } });
    const task = pretrainTask("e");
    const report = { version: 1, taskId: task.taskId, experimentId: "e", task, reason: "boom", deliveries: 3, streamSequence: 7 };
    assert.deepEqual(parseTaskExhaustion(roundTrip(report)), { ok: true, value: report });
  });

  test("a result must say its outcome, agree with its task id and hold sane numbers", () => {
    assert.deepEqual(problems(parseTaskResult({ ...particleResult("e"), outcome: undefined })), [{ path: "outcome", message: 'must be "succeeded" or "failed"' }]);
    assert.deepEqual(paths(parseTaskResult({ ...particleResult("e", 0, 1), particle: 0 })), ["particle"]);
    assert.deepEqual(paths(parseTaskResult({ ...failureResult("e"), kind: "aggregate-cycle" })), ["kind"]);
    assert.deepEqual(paths(parseTaskResult({ ...failureResult("e"), error: "" })), ["error"]);
    const numbers = { ...particleResult("e").numbers, loss: null, epochLosses: [0.5, "x"] };
    assert.deepEqual(paths(parseTaskResult({ ...particleResult("e"), numbers })), ["numbers.epochLosses.1", "numbers.loss"]);
    const aggregate = {
      version: 1,
      outcome: "succeeded",
      kind: "aggregate-cycle",
      taskId: "e:aggregate-cycle:0",
      experimentId: "e",
      workerId: "w",
      attempt: 1,
      finishedAt: 0,
      cycle: 0,
      outputs: { weights: ref("a"), nextMask: ref("b") },
      numbers: { accuracy: 0.9, loss: 0.3, sparsity: 0.2, alive: 11, total: 10, layers: [{ layer: "dense_1", alive: 3, total: 2 }], seconds: 1 },
    };
    assert.deepEqual(paths(parseTaskResult(aggregate)), ["numbers.alive", "numbers.layers.0.alive"]);
  });

  test("metric batches: every point belongs to the batch's cycle and particle, with finite values", () => {
    const batch = metricBatch("e", 0);
    const bad = { ...batch, points: [batch.points[0], { ...batch.points[0], cycle: 2 }, { ...batch.points[0], particle: undefined }] };
    assert.deepEqual(paths(parseMetricBatch(roundTrip(bad))), ["points.1.cycle", "points.2.particle"]);
    assert.deepEqual(paths(parseMetricBatch(roundTrip({ ...batch, points: [{ ...batch.points[0], value: Number.NaN }] }))), ["points.0.value"]);
    assert.deepEqual(paths(parseMetricBatch({ ...batch, sequence: -1, experimentId: "a b" })), ["experimentId", "sequence"]);
  });

  test("metric points on the wire have the limits the metrics service stores: key length, step, cycle and particle ranges", () => {
    const batch = metricBatch("e", 0);
    const point = batch.points[0]!;
    const withPoint = (changes: Record<string, unknown>) => ({ ...batch, points: [{ ...point, ...changes }] });
    assert.equal(parseMetricBatch(withPoint({ key: "k".repeat(METRIC_POINT_LIMITS.keyLength) })).ok, true);
    assert.deepEqual(paths(parseMetricBatch(withPoint({ key: "k".repeat(METRIC_POINT_LIMITS.keyLength + 1) }))), ["points.0.key"]);
    assert.deepEqual(paths(parseMetricBatch(withPoint({ step: METRIC_POINT_LIMITS.maxStep + 1 }))), ["points.0.step"]);
    for (const key of ["train/\u0000loss", "train/loss\nforged line", "\u001b[2J"]) assert.deepEqual(paths(parseMetricBatch(withPoint({ key }))), ["points.0.key"], JSON.stringify(key));
    assert.deepEqual(paths(parseMetricBatch(withPoint({ unknownField: 1 }))), ["points.0"]);
    const far = { ...batch, cycle: METRIC_POINT_LIMITS.maxCycle + 1, particle: METRIC_POINT_LIMITS.maxParticle + 1 };
    assert.deepEqual(paths(parseMetricBatch({ ...far, points: [{ ...point, cycle: far.cycle, particle: far.particle }] })), ["cycle", "particle", "points.0.cycle", "points.0.particle"]);
    // The same rules, applied by the service to a point that did not come over the wire.
    assert.deepEqual(metricPointProblems({ ...point, key: "k".repeat(METRIC_POINT_LIMITS.keyLength + 1), step: -1 }).map((p) => p.path), ["key", "step"]);
  });

  test("heartbeats and exhaustion reports check their own consistency", () => {
    assert.deepEqual(problems(parseWorkerHeartbeat({ ...heartbeat(), busy: 5 })), [{ path: "busy", message: "must not exceed slots" }]);
    const task = pretrainTask("e");
    assert.deepEqual(paths(parseTaskExhaustion({ version: 1, taskId: "other:pretrain", experimentId: "e", task, reason: "x", deliveries: 1 })), ["taskId"]);
    assert.deepEqual(paths(parseTaskExhaustion({ version: 1, taskId: task.taskId, experimentId: "e", task: { ...task, configHash: "0".repeat(64) }, reason: "x", deliveries: 1 })), ["task.configHash"]);
  });

  test("text that is not JSON is a (root) problem", () => {
    assert.deepEqual(paths(parseJsonMessage("{", parseCancelMessage)), ["(root)"]);
    assert.deepEqual(paths(parseJsonMessage(new Uint8Array([0xff, 0xfe]), parseCancelMessage)), ["(root)"]);
    assert.deepEqual(parseJsonMessage('{"experimentId":"e","time":3}', parseCancelMessage), { ok: true, value: { version: 1, experimentId: "e", time: 3 } });
  });
});

describe("NATS names", () => {
  test("the production names, and a namespace that keeps deployments apart", () => {
    const names = fleetNames();
    assert.equal(names.tasksStream, "SWAMP_TASKS");
    assert.equal(names.tasksSubjects, "swamp.tasks.>");
    assert.equal(names.taskSubject({ experimentId: "e1", kind: "train-particle", cycle: 3, particle: 0 }), "swamp.tasks.any.e1.train-particle.3.0");
    assert.equal(names.taskSubject({ experimentId: "e1", kind: "pretrain" }), "swamp.tasks.any.e1.pretrain._._");
    assert.equal(names.taskSubject({ route: "tensorflow-gpu", experimentId: "e1", kind: "train-particle", cycle: 3, particle: 0 }), "swamp.tasks.tensorflow-gpu.e1.train-particle.3.0");
    assert.equal(names.experimentTasksFilter("e1"), "swamp.tasks.*.e1.>");
    // Each route has its own consumer, on subjects no other route's consumer takes.
    assert.equal(names.routeConsumer("any"), "SWAMP_WORKERS");
    assert.equal(names.routeConsumer("wasm"), "SWAMP_WORKERS_wasm");
    assert.equal(names.routeTasksFilter("any"), "swamp.tasks.any.>");
    assert.equal(names.routeTasksFilter("cpu"), "swamp.tasks.cpu.>");
    assert.deepEqual(names.maxDeliveriesAdvisorySubjects, ["SWAMP_WORKERS", "SWAMP_WORKERS_tensorflow-gpu", "SWAMP_WORKERS_tensorflow", "SWAMP_WORKERS_wasm", "SWAMP_WORKERS_cpu"].map((consumer) => `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.SWAMP_TASKS.${consumer}`));
    assert.equal(names.resultsStream, "SWAMP_RESULTS");
    assert.equal(names.resultSubject("e1"), "swamp.results.e1");
    assert.equal(names.exhaustedStream, "SWAMP_EXHAUSTED");
    assert.equal(names.maxDeliveriesAdvisorySubject, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.SWAMP_TASKS.SWAMP_WORKERS");
    assert.equal(names.metricsSubject("e1"), "swamp.metrics.e1");
    assert.equal(names.allMetricsSubject, "swamp.metrics.*");
    assert.equal(names.heartbeatSubject, "swamp.workers.heartbeat");
    assert.equal(names.cancelSubject, "swamp.control.cancel");
    assert.equal(names.artifactsBucket, "swamp-artifacts");

    const blue = fleetNames("blue");
    assert.equal(blue.tasksStream, "SWAMP_TASKS_blue");
    assert.equal(blue.tasksSubjects, "blue.swamp.tasks.>");
    assert.equal(blue.metricsSubject("e1"), "blue.swamp.metrics.e1");
    assert.equal(blue.maxDeliveriesAdvisorySubject, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.SWAMP_TASKS_blue.SWAMP_WORKERS");
    assert.equal(blue.artifactsBucket, "swamp-artifacts-blue");
  });

  test("names that cannot be NATS subject tokens are refused", () => {
    assert.throws(() => fleetNames("a.b"), InvalidNameError);
    assert.throws(() => fleetNames().metricsSubject("e.1"), /experiment id "e\.1" cannot be part of a NATS subject/);
    assert.throws(() => fleetNames().taskSubject({ experimentId: "e", kind: "pretrain", cycle: -1 }), /cycle must be a non-negative integer/);
    assert.throws(() => fleetNames().taskSubject({ route: "gpu" as never, experimentId: "e", kind: "pretrain" }), /task route "gpu" is not one of any, tensorflow-gpu, tensorflow, wasm, cpu/);
  });
});
