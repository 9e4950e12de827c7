/**
 * The result stream (durable until recorded), the metric and control buses, the same for NATS and
 * the embedded transport.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidMessageError, type CancelMessage, type MetricBatch, type TaskResult, type WorkerHeartbeat } from "../../schema/fleet-messages.js";
import { failureResult, heartbeat, metricBatch, particleResult } from "./support/fleet-fixtures.js";
import { implementations } from "./support/implementations.js";
import { sleep, waitFor } from "./support/waiting.js";

for (const implementation of implementations) {
  // Each test has a deployment of its own (namespace or directory), so they can wait side by side.
  describe(`result stream (${implementation.name})`, { concurrency: true }, () => {
    test("results published while no consumer runs are delivered in order once one starts, and not again after recording", async () => {
      const deployment = await implementation.deploy();
      try {
        const publisher = await deployment.connect();
        await publisher.results.publish(particleResult("exp-r", 0, 0));
        await publisher.results.publish(failureResult("exp-r"));
        await publisher.results.publish(particleResult("exp-r", 0, 1));
        if (implementation.name === "nats") await publisher.close();

        const recorder = await deployment.connect();
        const recorded: TaskResult[] = [];
        const consumer = recorder.results.consume(async (result) => {
          recorded.push(result);
        });
        await waitFor("three results", () => recorded.length === 3);
        await consumer.stop();
        assert.deepEqual(recorded, [particleResult("exp-r", 0, 0), failureResult("exp-r"), particleResult("exp-r", 0, 1)]);

        const later: TaskResult[] = [];
        const second = recorder.results.consume(async (result) => {
          later.push(result);
        });
        await sleep(1_200);
        await second.stop();
        assert.deepEqual(later, [], "recorded results are gone from the stream");
      } finally {
        await deployment.dispose();
      }
    });

    test("a result whose recording fails is delivered again; a result published twice is recorded once", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const deliveries: Array<{ taskId: string; count: number }> = [];
        const consumer = transport.results.consume(
          async (result, info) => {
            deliveries.push({ taskId: result.taskId, count: info.deliveryCount });
            if (result.outcome === "succeeded" && info.deliveryCount === 1) throw new Error("database is restarting");
          },
          { retryDelayMs: 100 },
        );
        await transport.results.publish(particleResult("exp-rr", 1, 1));
        await transport.results.publish(failureResult("exp-rr"));
        await transport.results.publish(failureResult("exp-rr"));
        await waitFor("the retried recording", () => deliveries.length === 3);
        await sleep(800);
        await consumer.stop();
        assert.deepEqual(
          deliveries.sort((a, b) => a.taskId.localeCompare(b.taskId) || a.count - b.count),
          [
            { taskId: "exp-rr:pretrain", count: 1 },
            { taskId: "exp-rr:train-particle:1:1", count: 1 },
            { taskId: "exp-rr:train-particle:1:1", count: 2 },
          ],
        );
      } finally {
        await deployment.dispose();
      }
    });

    test("an invalid result is refused at publish with its field paths", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const bad = { ...particleResult("exp-bad"), attempt: 0, numbers: { ...particleResult("exp-bad").numbers, accuracy: 1.5 } };
        await assert.rejects(transport.results.publish(bad), (error: unknown) => {
          assert.ok(error instanceof InvalidMessageError);
          assert.deepEqual(error.problems.map((p) => p.path).sort(), ["attempt", "numbers.accuracy"]);
          return true;
        });
      } finally {
        await deployment.dispose();
      }
    });
  });

  describe(`metric and control buses (${implementation.name})`, { concurrency: true }, () => {
    test("metric batches reach the experiment's subscribers and the all-experiments subscribers, in order", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const forX: MetricBatch[] = [];
        const forAll: MetricBatch[] = [];
        const subX = await transport.metrics.subscribe({ experimentId: "exp-x" }, (batch) => {
          forX.push(batch);
        });
        const subAll = await transport.metrics.subscribe({}, (batch) => {
          forAll.push(batch);
        });
        for (let sequence = 0; sequence < 5; sequence++) await transport.metrics.publish(metricBatch("exp-x", sequence));
        await transport.metrics.publish(metricBatch("exp-y", 0, undefined));
        await waitFor("all six batches", () => forAll.length === 6);
        await sleep(200);
        await subX.unsubscribe();
        await subAll.unsubscribe();

        assert.deepEqual(forX.map((b) => b.sequence), [0, 1, 2, 3, 4]);
        assert.ok(forX.every((b) => b.experimentId === "exp-x"));
        assert.deepEqual(forX[3], metricBatch("exp-x", 3));
        assert.deepEqual(forAll.map((b) => `${b.experimentId}#${b.sequence}`).sort(), ["exp-x#0", "exp-x#1", "exp-x#2", "exp-x#3", "exp-x#4", "exp-y#0"]);
      } finally {
        await deployment.dispose();
      }
    });

    test("subscribers in one queue group share the batches; after unsubscribing nothing arrives", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const received = { a: [] as number[], b: [] as number[] };
        const subA = await transport.metrics.subscribe({ queueGroup: "storers" }, (batch) => {
          received.a.push(batch.sequence);
        });
        const subB = await transport.metrics.subscribe({ queueGroup: "storers" }, (batch) => {
          received.b.push(batch.sequence);
        });
        for (let sequence = 0; sequence < 20; sequence++) await transport.metrics.publish(metricBatch("exp-q", sequence));
        await waitFor("twenty batches", () => received.a.length + received.b.length === 20);
        await sleep(200);
        assert.deepEqual([...received.a, ...received.b].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i), "each batch exactly once");

        await subA.unsubscribe();
        await subB.unsubscribe();
        await transport.metrics.publish(metricBatch("exp-q", 20));
        await sleep(200);
        assert.equal(received.a.length + received.b.length, 20);
      } finally {
        await deployment.dispose();
      }
    });

    test("cancellations and heartbeats reach their subscribers; invalid ones are refused at publish", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const cancels: CancelMessage[] = [];
        const heartbeats: WorkerHeartbeat[] = [];
        const subCancel = await transport.control.onCancel((message) => {
          cancels.push(message);
        });
        const subHeartbeat = await transport.control.onHeartbeat((message) => {
          heartbeats.push(message);
        });
        const cancel: CancelMessage = { version: 1, experimentId: "exp-c", reason: "cancelled by alice", time: 1_700_000_000_000 };
        await transport.control.cancel(cancel);
        await transport.control.heartbeat(heartbeat("worker-9"));
        // Publishers may leave out what has a default; subscribers get it filled in.
        await transport.control.heartbeat({ workerId: "worker-10", host: "h", backend: "cpu", device: "cpu", slots: 1, busy: 0, time: 5 });
        await waitFor("all three messages", () => cancels.length === 1 && heartbeats.length === 2);
        assert.deepEqual(cancels[0], cancel);
        assert.deepEqual(heartbeats[0], heartbeat("worker-9"));
        assert.deepEqual(heartbeats[1], {
          version: 1,
          workerId: "worker-10",
          host: "h",
          backend: "cpu",
          device: "cpu",
          slots: 1,
          busy: 0,
          runningTaskIds: [],
          stopping: false,
          time: 5,
        });

        await assert.rejects(transport.control.heartbeat({ ...heartbeat(), busy: 3 }), /busy: must not exceed slots/);
        await assert.rejects(transport.control.cancel({ version: 1, experimentId: "exp.with.dots", time: 0 }), /experimentId: must be 1-100 letters/);
        await assert.rejects(transport.metrics.publish({ ...metricBatch("exp-c"), points: [] }), /points: Array must contain at least 1/);
        await subCancel.unsubscribe();
        await subHeartbeat.unsubscribe();
      } finally {
        await deployment.dispose();
      }
    });
  });
}
