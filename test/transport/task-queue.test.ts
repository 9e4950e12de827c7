/**
 * The task queue's behaviour, the same for the NATS JetStream queue (real server) and the embedded
 * one: delivery, redelivery after a nak, a throw or a dead consumer, progress signals, the delivery
 * limit and its one exhaustion report, release, removal of an experiment's tasks.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createTaskMessage, type TaskMessage } from "../../schema/fleet-messages.js";
import type { TaskDelivery } from "../../transport/task-queue.js";
import { aggregateTask, pretrainTask, trainParticleTask } from "./support/fleet-fixtures.js";
import { FAST_QUEUE, implementations } from "./support/implementations.js";
import { gate, sleep, waitFor } from "./support/waiting.js";

interface Exhausted {
  task: TaskMessage;
  reason: string;
  deliveries: number;
}

for (const implementation of implementations) {
  // Each test has a deployment of its own (namespace or directory), so they can wait side by side.
  describe(`task queue (${implementation.name})`, { concurrency: true }, () => {
    test("delivers a published task once, and ack removes it", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const task = trainParticleTask("exp-a", 1, 1);
        assert.deepEqual(await transport.tasks.publish(task), { queued: true });
        assert.deepEqual(await transport.tasks.queuedTaskIds("exp-a"), ["exp-a:train-particle:1:1"]);

        const received: TaskDelivery[] = [];
        const consumer = transport.tasks.consume(async (delivery) => {
          received.push(delivery);
          await delivery.ack();
        });
        await waitFor("the delivery", () => received.length === 1);
        await waitFor("the ack to remove the task", async () => (await transport.tasks.queuedTaskIds("exp-a")).length === 0);
        await sleep(FAST_QUEUE.ackWaitMs + 300);
        await consumer.stop();

        assert.equal(received.length, 1, "an acked task is not delivered again");
        assert.deepEqual(received[0]!.task, task);
        assert.equal(received[0]!.deliveryCount, 1);
        assert.equal(received[0]!.maxDeliveries, FAST_QUEUE.maxDeliveries);
        assert.equal(received[0]!.isLastDelivery, false);
      } finally {
        await deployment.dispose();
      }
    });

    test("a task id already queued is not queued twice; once done it can be queued again", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const task = pretrainTask("exp-dup");
        assert.deepEqual(await transport.tasks.publish(task), { queued: true });
        assert.deepEqual(await transport.tasks.publish(task), { queued: false, reason: "already-queued" });

        const seen: number[] = [];
        const consumer = transport.tasks.consume(async (delivery) => {
          seen.push(delivery.deliveryCount);
        });
        await waitFor("the first run", () => seen.length === 1);
        await waitFor("the task to be done", async () => (await transport.tasks.queuedTaskIds("exp-dup")).length === 0);
        assert.deepEqual(await transport.tasks.publish(task), { queued: true });
        await waitFor("the second run", () => seen.length === 2);
        await consumer.stop();
        assert.deepEqual(seen, [1, 1]);
      } finally {
        await deployment.dispose();
      }
    });

    test("a nak'd task and a task whose handler threw are delivered again with a higher count", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const counts = new Map<string, number[]>();
        const consumer = transport.tasks.consume(async (delivery) => {
          const list = counts.get(delivery.task.taskId) ?? [];
          counts.set(delivery.task.taskId, [...list, delivery.deliveryCount]);
          if (delivery.deliveryCount > 1) return;
          if (delivery.task.kind === "pretrain") await delivery.nak(50);
          else throw new Error("transient failure");
        });
        await transport.tasks.publish(pretrainTask("exp-nak"));
        await transport.tasks.publish(aggregateTask("exp-nak", 0));
        await waitFor("both retries", () => (counts.get("exp-nak:pretrain")?.length ?? 0) === 2 && (counts.get("exp-nak:aggregate-cycle:0")?.length ?? 0) === 2);
        await waitFor("both acks", async () => (await transport.tasks.queuedTaskIds("exp-nak")).length === 0);
        await consumer.stop();
        assert.deepEqual(counts.get("exp-nak:pretrain"), [1, 2]);
        assert.deepEqual(counts.get("exp-nak:aggregate-cycle:0"), [1, 2]);
        assert.ok(deployment.logger.matching(/exp-nak:aggregate-cycle:0 failed on delivery 1 of 3: transient failure/).length === 1);
      } finally {
        await deployment.dispose();
      }
    });

    test("a task whose consumer dies without acking is delivered to another after the ack wait", async () => {
      const deployment = await implementation.deploy();
      const hung = gate();
      try {
        const first = await deployment.connect();
        let firstDeliveredAt = 0;
        const dying = first.tasks.consume(async () => {
          firstDeliveredAt = Date.now();
          await hung.promise;
        });
        await first.tasks.publish(trainParticleTask("exp-dies", 0, 1));
        await waitFor("the first delivery", () => firstDeliveredAt > 0);
        await deployment.kill(first);

        const second = await deployment.connect();
        const redeliveries: Array<{ count: number; at: number }> = [];
        const survivor = second.tasks.consume(async (delivery) => {
          redeliveries.push({ count: delivery.deliveryCount, at: Date.now() });
        });
        await waitFor("the redelivery", () => redeliveries.length === 1, 8_000);
        await waitFor("the survivor's ack", async () => (await second.tasks.queuedTaskIds("exp-dies")).length === 0);
        hung.open();
        await dying.stop();
        await survivor.stop();

        assert.equal(redeliveries[0]!.count, 2);
        assert.ok(redeliveries[0]!.at - firstDeliveredAt >= FAST_QUEUE.ackWaitMs - 100, "not before the ack wait ran out");
        assert.deepEqual(await second.tasks.queuedTaskIds("exp-dies"), [], "the dead consumer's late ack changed nothing");
      } finally {
        hung.open();
        await deployment.dispose();
      }
    });

    test("working() keeps a long task from being delivered again; without it the task is redelivered", async () => {
      const deployment = await implementation.deploy({ maxDeliveries: 5 });
      try {
        const transport = await deployment.connect();
        const counts = { signalling: [] as number[], silent: [] as number[] };
        const longRunMs = 2.5 * FAST_QUEUE.ackWaitMs;
        const consumer = transport.tasks.consume(
          async (delivery) => {
            const signalling = delivery.task.kind === "pretrain";
            (signalling ? counts.signalling : counts.silent).push(delivery.deliveryCount);
            if (!signalling && delivery.deliveryCount > 1) return;
            for (const end = Date.now() + longRunMs; Date.now() < end; ) {
              if (signalling) delivery.working();
              await sleep(100);
            }
          },
          { concurrency: 3 },
        );
        await transport.tasks.publish(pretrainTask("exp-long"));
        await transport.tasks.publish(trainParticleTask("exp-long", 0, 0));
        await waitFor("both tasks to finish", async () => (await transport.tasks.queuedTaskIds("exp-long")).length === 0, 10_000);
        await sleep(FAST_QUEUE.ackWaitMs + 300);
        await consumer.stop();

        assert.deepEqual(counts.signalling, [1], "the task that signalled progress ran once");
        assert.deepEqual(counts.silent, [1, 2], "the silent task was delivered again after the ack wait");
      } finally {
        await deployment.dispose();
      }
    });

    test("a task that keeps failing is exhausted after max deliveries, reported once and not delivered again", async () => {
      const deployment = await implementation.deploy({ maxDeliveries: 3 });
      try {
        const transport = await deployment.connect();
        const exhausted: Exhausted[] = [];
        const watch = await transport.tasks.onExhausted((task, reason, deliveries) => {
          exhausted.push({ task, reason, deliveries });
        });
        const counts: number[] = [];
        const consumer = transport.tasks.consume(async (delivery) => {
          counts.push(delivery.deliveryCount);
          throw new Error(`boom on ${delivery.deliveryCount}`);
        });
        const task = aggregateTask("exp-fail", 2);
        await transport.tasks.publish(task);
        await waitFor("the exhaustion report", () => exhausted.length === 1, 10_000);
        await sleep(FAST_QUEUE.ackWaitMs + 500);
        await consumer.stop();
        await watch.stop();

        assert.deepEqual(counts, [1, 2, 3]);
        assert.equal(exhausted.length, 1);
        assert.deepEqual(exhausted[0]!.task, task);
        assert.equal(exhausted[0]!.deliveries, 3);
        assert.match(exhausted[0]!.reason, /failed on delivery 3 of 3: boom on 3/);
        assert.deepEqual(await transport.tasks.queuedTaskIds("exp-fail"), []);
        assert.deepEqual(await transport.tasks.publish(task), { queued: true }, "an exhausted task can be queued again");
      } finally {
        await deployment.dispose();
      }
    });

    test("a task never acknowledged on any delivery (its workers die) is exhausted once", async () => {
      const deployment = await implementation.deploy({ maxDeliveries: 2 });
      const hung = gate();
      try {
        const transport = await deployment.connect();
        const exhausted: Exhausted[] = [];
        const watch = await transport.tasks.onExhausted((task, reason, deliveries) => {
          exhausted.push({ task, reason, deliveries });
        });
        const counts: number[] = [];
        const consumer = transport.tasks.consume(
          async (delivery) => {
            counts.push(delivery.deliveryCount);
            await hung.promise;
          },
          { concurrency: 3 },
        );
        await transport.tasks.publish(trainParticleTask("exp-lost", 1, 0));
        await waitFor("the exhaustion report", () => exhausted.length === 1, 10_000);
        await sleep(FAST_QUEUE.ackWaitMs + 500);

        assert.deepEqual(counts, [1, 2]);
        assert.equal(exhausted.length, 1);
        assert.equal(exhausted[0]!.task.taskId, "exp-lost:train-particle:1:0");
        assert.equal(exhausted[0]!.deliveries, 2);
        assert.match(exhausted[0]!.reason, /not acknowledged on any of its 2 deliveries/);
        assert.deepEqual(await transport.tasks.queuedTaskIds("exp-lost"), [], "nothing of the task is left in the queue");
        hung.open();
        await consumer.stop();
        await watch.stop();
      } finally {
        hung.open();
        await deployment.dispose();
      }
    });

    test("term(reason) exhausts at once, and the report waits for a handler registered later", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const counts: number[] = [];
        const consumer = transport.tasks.consume(async (delivery) => {
          counts.push(delivery.deliveryCount);
          await delivery.term("corrupt artifact sha256:abcd: stored bytes hash to sha256:ef01");
        });
        await transport.tasks.publish(pretrainTask("exp-term"));
        await waitFor("the task to leave the queue", async () => (await transport.tasks.queuedTaskIds("exp-term")).length === 0);
        await sleep(300);

        const exhausted: Exhausted[] = [];
        const watch = await transport.tasks.onExhausted((task, reason, deliveries) => {
          exhausted.push({ task, reason, deliveries });
        });
        await waitFor("the held report", () => exhausted.length === 1);
        await sleep(FAST_QUEUE.ackWaitMs + 300);
        await consumer.stop();
        await watch.stop();
        assert.deepEqual(counts, [1]);
        assert.equal(exhausted.length, 1);
        assert.equal(exhausted[0]!.reason, "corrupt artifact sha256:abcd: stored bytes hash to sha256:ef01");
        assert.equal(exhausted[0]!.deliveries, 1);
      } finally {
        await deployment.dispose();
      }
    });

    test("an exhaustion handler that throws gets the report again", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        let attempts = 0;
        const watch = await transport.tasks.onExhausted(() => {
          attempts++;
          if (attempts === 1) throw new Error("database unavailable");
        });
        const consumer = transport.tasks.consume(async (delivery) => delivery.term("cannot succeed"));
        await transport.tasks.publish(pretrainTask("exp-retry-report"));
        await waitFor("the second attempt", () => attempts === 2);
        await sleep(500);
        await consumer.stop();
        await watch.stop();
        assert.equal(attempts, 2);
      } finally {
        await deployment.dispose();
      }
    });

    test("release() gives a task back with a fresh delivery count", async () => {
      const deployment = await implementation.deploy({ maxDeliveries: 2 });
      try {
        const transport = await deployment.connect();
        const counts: number[] = [];
        const consumer = transport.tasks.consume(async (delivery) => {
          counts.push(delivery.deliveryCount);
          if (counts.length <= 2) await delivery.release();
        });
        await transport.tasks.publish(pretrainTask("exp-release"));
        await waitFor("the third delivery", () => counts.length === 3);
        await waitFor("the ack", async () => (await transport.tasks.queuedTaskIds("exp-release")).length === 0);
        await consumer.stop();
        assert.deepEqual(counts, [1, 1, 1], "released deliveries do not count towards the limit of 2");
      } finally {
        await deployment.dispose();
      }
    });

    test("removeExperiment drops that experiment's queued tasks only", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        await transport.tasks.publish(trainParticleTask("exp-gone", 0, 0));
        await transport.tasks.publish(trainParticleTask("exp-gone", 0, 1));
        await transport.tasks.publish(aggregateTask("exp-gone", 0));
        await transport.tasks.publish(trainParticleTask("exp-kept", 0, 0));
        assert.deepEqual(await transport.tasks.queuedTaskIds("exp-gone"), [
          "exp-gone:aggregate-cycle:0",
          "exp-gone:train-particle:0:0",
          "exp-gone:train-particle:0:1",
        ]);
        assert.equal(await transport.tasks.removeExperiment("exp-gone"), 3);
        assert.deepEqual(await transport.tasks.queuedTaskIds("exp-gone"), []);

        const received: string[] = [];
        const consumer = transport.tasks.consume(async (delivery) => {
          received.push(delivery.task.taskId);
        });
        await waitFor("the kept task", () => received.length === 1);
        await sleep(500);
        await consumer.stop();
        assert.deepEqual(received, ["exp-kept:train-particle:0:0"]);
      } finally {
        await deployment.dispose();
      }
    });

    test("a consumer handles at most `concurrency` tasks at once", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        let active = 0;
        let mostActive = 0;
        const done: string[] = [];
        const consumer = transport.tasks.consume(
          async (delivery) => {
            active++;
            mostActive = Math.max(mostActive, active);
            await sleep(300);
            active--;
            done.push(delivery.task.taskId);
          },
          { concurrency: 2 },
        );
        for (let particle = 0; particle < 2; particle++) await transport.tasks.publish(trainParticleTask("exp-slots", 0, particle));
        await transport.tasks.publish(aggregateTask("exp-slots", 0));
        await waitFor("all three tasks", () => done.length === 3);
        await consumer.stop();
        assert.equal(mostActive, 2);
      } finally {
        await deployment.dispose();
      }
    });

    test("a consumer takes the tasks routed to its backend and to any, never another backend's", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const routed = (experimentId: string, backend: "any" | "wasm" | "cpu", [cycle, particle]: readonly [number, number]) =>
          createTaskMessage({ ...trainParticleTask(experimentId, cycle, particle), backend });
        const taken = new Map<string, string[]>([["wasm", []], ["cpu", []]]);
        const consumers = (["wasm", "cpu"] as const).map((backend) =>
          transport.tasks.consume(
            async (delivery) => {
              taken.get(backend)!.push(delivery.task.taskId);
              await delivery.ack();
            },
            { backend, concurrency: 2 },
          ),
        );
        for (const place of [[0, 0], [0, 1], [1, 0]] as const) {
          await transport.tasks.publish(routed("exp-wasm", "wasm", place));
          await transport.tasks.publish(routed("exp-cpu", "cpu", place));
          await transport.tasks.publish(routed("exp-any", "any", place));
        }
        await waitFor("all nine tasks", () => taken.get("wasm")!.length + taken.get("cpu")!.length === 9, 20_000);
        await Promise.all(consumers.map((consumer) => consumer.stop()));
        assert.ok(taken.get("wasm")!.every((id) => !id.startsWith("exp-cpu")), `the wasm consumer took only wasm and any tasks: ${taken.get("wasm")}`);
        assert.ok(taken.get("cpu")!.every((id) => !id.startsWith("exp-wasm")), `the cpu consumer took only cpu and any tasks: ${taken.get("cpu")}`);
        assert.equal(taken.get("wasm")!.filter((id) => id.startsWith("exp-wasm")).length, 3);
        assert.equal(taken.get("cpu")!.filter((id) => id.startsWith("exp-cpu")).length, 3);
        for (const id of ["exp-wasm", "exp-cpu", "exp-any"]) assert.deepEqual(await transport.tasks.queuedTaskIds(id), []);
      } finally {
        await deployment.dispose();
      }
    });

    test("a task routed to a backend no consumer runs stays queued, and a consumer without a backend takes only `any` tasks", async () => {
      const deployment = await implementation.deploy();
      try {
        const transport = await deployment.connect();
        const taken: string[] = [];
        const consumer = transport.tasks.consume(async (delivery) => {
          taken.push(delivery.task.taskId);
          await delivery.ack();
        });
        await transport.tasks.publish(createTaskMessage({ ...pretrainTask("exp-gpu"), backend: "tensorflow-gpu" }));
        await transport.tasks.publish(pretrainTask("exp-anywhere"));
        await waitFor("the `any` task", () => taken.length === 1);
        // The gpu task is still there after the consumer has pulled several times from its route.
        await sleep(2_500);
        await consumer.stop();
        assert.deepEqual(taken, ["exp-anywhere:pretrain"]);
        assert.deepEqual(await transport.tasks.queuedTaskIds("exp-gpu"), ["exp-gpu:pretrain"]);
        assert.equal((await transport.tasks.removeExperiment("exp-gpu")), 1, "removal finds tasks on every route");
        assert.deepEqual(await transport.tasks.queuedTaskIds("exp-gpu"), []);
      } finally {
        await deployment.dispose();
      }
    });
  });
}
