/**
 * Task routes beyond plain delivery (see task-queue.test.ts for that): a routed task that is never
 * acknowledged is still exhausted once (the max-deliveries advisory of its route's consumer), and
 * a NATS namespace set up before routes existed is brought up to date by the next process.
 */
import { AckPolicy, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createTaskMessage, type TaskMessage } from "../../schema/fleet-messages.js";
import { fleetNames, TASK_ROUTES } from "../../schema/subjects.js";
import { connectToNats } from "../../transport/nats/connection.js";
import { deleteFleetResources } from "../../transport/nats/fleet-resources.js";
import { createNatsTransport } from "../../transport/nats/nats-transport.js";
import { CaptureLogger } from "./support/capture-logger.js";
import { trainParticleTask } from "./support/fleet-fixtures.js";
import { FAST_QUEUE, implementations, NATS_TEST_URL, uniqueNamespace } from "./support/implementations.js";
import { gate, sleep, waitFor } from "./support/waiting.js";

for (const implementation of implementations) {
  describe(`task routes (${implementation.name})`, () => {
    test("a task routed to a backend and never acknowledged by its workers is exhausted once", async () => {
      const deployment = await implementation.deploy({ maxDeliveries: 2 });
      const hung = gate();
      try {
        const transport = await deployment.connect();
        const exhausted: Array<{ task: TaskMessage; reason: string }> = [];
        const watch = await transport.tasks.onExhausted((task, reason) => {
          exhausted.push({ task, reason });
        });
        const counts: number[] = [];
        const consumer = transport.tasks.consume(
          async (delivery) => {
            counts.push(delivery.deliveryCount);
            await hung.promise;
          },
          { concurrency: 3, backend: "tensorflow-gpu" },
        );
        await transport.tasks.publish(createTaskMessage({ ...trainParticleTask("exp-gpu-lost", 1, 0), backend: "tensorflow-gpu" }));
        await waitFor("the exhaustion report", () => exhausted.length === 1, 15_000);
        await sleep(FAST_QUEUE.ackWaitMs + 500);
        assert.deepEqual(counts, [1, 2]);
        assert.equal(exhausted.length, 1);
        assert.equal(exhausted[0]!.task.backend, "tensorflow-gpu");
        assert.match(exhausted[0]!.reason, /not acknowledged on any of its 2 deliveries/);
        assert.deepEqual(await transport.tasks.queuedTaskIds("exp-gpu-lost"), []);
        hung.open();
        await consumer.stop();
        await watch.stop();
      } finally {
        hung.open();
        await deployment.dispose();
      }
    });
  });
}

test("a namespace from before task routes gets its workers consumer filtered (keeping its settings), the routes' consumers and their advisories", async () => {
  const logger = new CaptureLogger();
  const namespace = uniqueNamespace();
  const names = fleetNames(namespace);
  const admin = await connectToNats({ url: NATS_TEST_URL }, logger);
  const jsm = await jetstreamManager(admin);
  try {
    // What the previous version created: one unfiltered consumer, one advisory subject.
    await jsm.streams.add({ name: names.tasksStream, subjects: [names.tasksSubjects], retention: RetentionPolicy.Workqueue });
    await jsm.consumers.add(names.tasksStream, { durable_name: names.workersConsumer, ack_policy: AckPolicy.Explicit, ack_wait: 7_000 * 1_000_000, max_deliver: 5 });
    await jsm.streams.add({ name: names.exhaustedStream, subjects: [names.exhaustedSubjects, names.maxDeliveriesAdvisorySubject], retention: RetentionPolicy.Workqueue });

    const transport = await createNatsTransport({ url: NATS_TEST_URL, namespace, pullExpiresMs: 1_000, logger });
    try {
      const workers = await jsm.consumers.info(names.tasksStream, names.workersConsumer);
      assert.equal(workers.config.filter_subject, names.routeTasksFilter("any"));
      assert.equal(workers.config.ack_wait, 7_000 * 1_000_000, "the deployment's ack wait is kept");
      assert.equal(workers.config.max_deliver, 5);
      for (const route of TASK_ROUTES.filter((route) => route !== "any")) {
        const info = await jsm.consumers.info(names.tasksStream, names.routeConsumer(route));
        assert.equal(info.config.filter_subject, names.routeTasksFilter(route));
        assert.equal(info.config.ack_wait, 7_000 * 1_000_000, `${route} delivers as the any route does`);
        assert.equal(info.config.max_deliver, 5);
      }
      const exhausted = await jsm.streams.info(names.exhaustedStream);
      for (const subject of names.maxDeliveriesAdvisorySubjects) assert.ok(exhausted.config.subjects.includes(subject), `${subject} is captured`);
      assert.equal(logger.matching(/filter \(none\) → .*replacing it/).length, 1);

      // And the queue works on both routes.
      const taken: string[] = [];
      const consumer = transport.tasks.consume(
        async (delivery) => {
          taken.push(delivery.task.taskId);
          await delivery.ack();
        },
        { backend: "wasm" },
      );
      await transport.tasks.publish(trainParticleTask("exp-upgraded", 0, 0));
      await transport.tasks.publish(createTaskMessage({ ...trainParticleTask("exp-upgraded", 0, 1), backend: "wasm" }));
      await waitFor("both tasks", () => taken.length === 2, 15_000);
      await consumer.stop();
      assert.deepEqual(taken.sort(), ["exp-upgraded:train-particle:0:0", "exp-upgraded:train-particle:0:1"]);
    } finally {
      await transport.close();
    }
  } finally {
    await deleteFleetResources(admin, jsm, names).catch(() => undefined);
    await admin.close();
  }
});

test("a worker on two routes takes a busy route's tasks one after another, and gives the other a turn after a few", async () => {
  const namespace = uniqueNamespace();
  const logger = new CaptureLogger();
  // Long pulls: were the worker to take turns after every message, each task would wait one out on the empty route.
  const transport = await createNatsTransport({ url: NATS_TEST_URL, namespace, taskQueue: FAST_QUEUE, pullExpiresMs: 8_000, logger });
  try {
    const wasmTask = (n: number) => createTaskMessage({ ...trainParticleTask(`exp-streak-${n}`, 1, 0), backend: "wasm" });
    for (let n = 0; n < 6; n++) await transport.tasks.publish(wasmTask(n));
    const taken: string[] = [];
    // The fourth task is held until the `any` route has one: an empty route is passed over at once.
    const fourthHeld = gate();
    const consumer = transport.tasks.consume(
      async (delivery) => {
        taken.push(delivery.task.taskId);
        if (taken.length === 4) await fourthHeld.promise;
      },
      { concurrency: 1, backend: "wasm" },
    );
    // Four in a row from the wasm route with the `any` route empty: well within one 8 s pull.
    await waitFor("four wasm tasks in a row", () => taken.length >= 4, 6_000);
    // Tasks on the `any` route now: they are reached while the wasm route still has tasks left.
    await transport.tasks.publish(createTaskMessage({ ...trainParticleTask("exp-any-turn", 1, 0), backend: "any" }));
    fourthHeld.open();
    await waitFor("every task", () => taken.length === 7, 30_000);
    await consumer.stop();
    assert.deepEqual(taken.slice(0, 4), [0, 1, 2, 3].map((n) => wasmTask(n).taskId));
    assert.ok(taken.indexOf("exp-any-turn:train-particle:1:0") < 6, `the any route's task came before the wasm route ran dry: ${taken.join(", ")}`);
  } finally {
    await transport.close();
    const admin = await connectToNats({ url: NATS_TEST_URL }, logger);
    await deleteFleetResources(admin, await jetstreamManager(admin), fleetNames(namespace));
    await admin.close();
  }
});
