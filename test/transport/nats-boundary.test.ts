/**
 * Messages that arrive malformed over NATS (another program, an old version, a bug) are rejected at
 * the boundary with a logged reason and have no effect: handlers never see them, and persistent
 * ones are removed instead of being redelivered.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { taskIdentityOf, type MetricBatch, type TaskResult } from "../../schema/fleet-messages.js";
import type { NatsTransport } from "../../transport/nats/nats-transport.js";
import { metricBatch, particleResult, pretrainTask, trainParticleTask } from "./support/fleet-fixtures.js";
import { implementations } from "./support/implementations.js";
import { sleep, waitFor } from "./support/waiting.js";

const nats = implementations.find((implementation) => implementation.name === "nats")!;
const encode = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

describe("malformed messages over NATS", () => {
  test("malformed tasks are logged with their problems, terminated, and never reach the handler", async () => {
    const deployment = await nats.deploy();
    try {
      const transport = (await deployment.connect()) as NatsTransport;
      const js = jetstream(transport.connection);
      const good = trainParticleTask("exp-raw", 0, 0);
      const wrongHash = pretrainTask("exp-raw");
      await js.publish(transport.names.taskSubject(taskIdentityOf(wrongHash)), encode({ ...wrongHash, configHash: "f".repeat(64) }));
      await js.publish(transport.names.taskSubject({ experimentId: "exp-raw", kind: "aggregate-cycle", cycle: 0 }), encode("{not json"));
      await transport.tasks.publish(good);

      const handled: string[] = [];
      const consumer = transport.tasks.consume(async (delivery) => {
        handled.push(delivery.task.taskId);
      });
      await waitFor("the queue to empty", async () => (await transport.tasks.queuedTaskIds("exp-raw")).length === 0);
      await sleep(1_300);
      await consumer.stop();

      assert.deepEqual(handled, [good.taskId]);
      assert.equal(deployment.logger.matching(/rejected malformed task message from \S+\.tasks\.any\.exp-raw\.pretrain\._\._ .*configHash: does not match config/).length, 1);
      assert.equal(deployment.logger.matching(/rejected malformed task message from \S+\.tasks\.any\.exp-raw\.aggregate-cycle\.0\._ .*\(root\): not JSON/).length, 1);
    } finally {
      await deployment.dispose();
    }
  });

  test("a malformed result is removed without reaching the recorder; the valid one is recorded", async () => {
    const deployment = await nats.deploy();
    try {
      const transport = (await deployment.connect()) as NatsTransport;
      const js = jetstream(transport.connection);
      await js.publish(transport.names.resultSubject("exp-raw"), encode({ ...particleResult("exp-raw"), cycle: 5 }));
      await transport.results.publish(particleResult("exp-raw", 0, 1));

      const recorded: TaskResult[] = [];
      const consumer = transport.results.consume(async (result) => {
        recorded.push(result);
      });
      const jsm = await jetstreamManager(transport.connection);
      await waitFor("the results stream to empty", async () => (await jsm.streams.info(transport.names.resultsStream)).state.messages === 0);
      await consumer.stop();

      assert.deepEqual(recorded, [particleResult("exp-raw", 0, 1)]);
      assert.equal(deployment.logger.matching(/rejected malformed result message from .*cycle: does not match taskId/).length, 1);
    } finally {
      await deployment.dispose();
    }
  });

  test("a malformed metric batch is dropped with its field path; the next valid one arrives", async () => {
    const deployment = await nats.deploy();
    try {
      const transport = (await deployment.connect()) as NatsTransport;
      const batches: MetricBatch[] = [];
      const subscription = await transport.metrics.subscribe({ experimentId: "exp-raw" }, (batch) => {
        batches.push(batch);
      });
      const bad = metricBatch("exp-raw", 0);
      const subject = transport.names.metricsSubject("exp-raw");
      // NaN becomes null in JSON; a point of another cycle does not belong in the batch.
      transport.connection.publish(subject, encode({ ...bad, points: [{ ...bad.points[0], value: null }] }));
      transport.connection.publish(subject, encode({ ...bad, points: [{ ...bad.points[0], cycle: 7 }] }));
      await transport.metrics.publish(metricBatch("exp-raw", 1));
      await waitFor("the valid batch", () => batches.length === 1);
      await subscription.unsubscribe();

      assert.deepEqual(batches.map((b) => b.sequence), [1]);
      const lines = deployment.logger.matching(/rejected malformed metric batch message from \S+\.swamp\.metrics\.exp-raw/);
      assert.equal(lines.length, 2);
      assert.match(lines[0]!, /points\.0\.value: must be a finite number$/);
      assert.match(lines[1]!, /points\.0\.cycle: must equal the batch's cycle \(1\)$/);
    } finally {
      await deployment.dispose();
    }
  });
});
