/**
 * Connecting to NATS: refused credentials end with one clear error (no retry loop), an absent
 * server is reported at once, and a transport rides out a server restart. Uses nats-server
 * processes of its own on free ports.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TaskResult } from "../../schema/fleet-messages.js";
import { fleetNames } from "../../schema/subjects.js";
import { createTransport, transportOptionsFromEnv } from "../../transport/create-transport.js";
import {
  connectToNats,
  NatsAuthError,
  NatsConfigurationError,
  NatsUnavailableError,
  natsConnectionOptionsFromEnv,
} from "../../transport/nats/connection.js";
import { deleteFleetResources } from "../../transport/nats/fleet-resources.js";
import type { NatsTransportOptions } from "../../transport/transport.js";
import type { NatsTransport } from "../../transport/nats/nats-transport.js";
import { CaptureLogger } from "./support/capture-logger.js";
import { particleResult, pretrainTask, trainParticleTask } from "./support/fleet-fixtures.js";
import { FAST_QUEUE, NATS_TEST_URL, uniqueNamespace } from "./support/implementations.js";
import { freePort, NatsServerProcess } from "./support/nats-server-process.js";
import { sleep, waitFor } from "./support/waiting.js";

function natsOptions(url: string, logger: CaptureLogger, extra: Partial<NatsTransportOptions> = {}): NatsTransportOptions {
  return { mode: "nats", url, taskQueue: FAST_QUEUE, pullExpiresMs: 1_000, publishGiveUpMs: 15_000, logger, ...extra };
}

/** Publishes a task and waits until a consumer on the same transport has acked it. */
async function roundTrip(transport: NatsTransport, experimentId: string): Promise<string> {
  const received: string[] = [];
  const consumer = transport.tasks.consume(async (delivery) => {
    received.push(delivery.task.taskId);
  });
  await transport.tasks.publish(pretrainTask(experimentId));
  await waitFor(`task of ${experimentId}`, () => received.length === 1, 10_000);
  await consumer.stop();
  return received[0]!;
}

describe("NATS credentials", () => {
  let userServer: NatsServerProcess;
  let tokenServer: NatsServerProcess;
  before(async () => {
    userServer = await NatsServerProcess.start(["--user", "u", "--pass", "p"]);
    tokenServer = await NatsServerProcess.start(["--auth", "s3cret-token"]);
  });
  after(async () => {
    await userServer?.dispose();
    await tokenServer?.dispose();
  });

  test("a wrong password ends with one clear NatsAuthError, quickly; the right one connects", async () => {
    const logger = new CaptureLogger();
    const started = Date.now();
    await assert.rejects(createTransport(natsOptions(userServer.url, logger, { user: "u", password: "wrong" })), (error: unknown) => {
      assert.ok(error instanceof NatsAuthError);
      assert.equal(error.message, `NATS at nats://127.0.0.1:${userServer.port}: authorization failed (check NATS_USER/NATS_PASSWORD or NATS_TOKEN)`);
      return true;
    });
    assert.ok(Date.now() - started < 3_000, "refused without a retry loop");
    assert.deepEqual(logger.matching(/retrying/), []);
    await assert.rejects(createTransport(natsOptions(userServer.url, logger)), NatsAuthError, "no credentials at all");

    const transport = await createTransport(natsOptions(userServer.url, logger, { user: "u", password: "p" }));
    try {
      assert.equal(await roundTrip(transport, "exp-auth"), "exp-auth:pretrain");
    } finally {
      await transport.close();
    }
    assert.equal(await transport.closed(), undefined, "closed on request, not by an error");
  });

  test("a wrong token is refused the same way; the right one connects", async () => {
    const logger = new CaptureLogger();
    await assert.rejects(createTransport(natsOptions(tokenServer.url, logger, { token: "nope" })), /^NatsAuthError: NATS at nats:\/\/127\.0\.0\.1:\d+: authorization failed/);
    const transport = await createTransport(natsOptions(tokenServer.url, logger, { token: "s3cret-token" }));
    try {
      assert.equal(await roundTrip(transport, "exp-token"), "exp-token:pretrain");
    } finally {
      await transport.close();
    }
  });

  test("credentials embedded in NATS_URL are never shown in errors", async () => {
    const logger = new CaptureLogger();
    const url = `nats://u:hunter2@127.0.0.1:${userServer.port}`;
    await assert.rejects(createTransport(natsOptions(url, logger)), (error: unknown) => {
      assert.ok(error instanceof NatsAuthError);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  });
});

describe("NATS availability", () => {
  test("no server at the address: NatsUnavailableError at once, or after waitForServerMs", async () => {
    const port = await freePort();
    const logger = new CaptureLogger();
    const started = Date.now();
    await assert.rejects(createTransport(natsOptions(`nats://127.0.0.1:${port}`, logger)), (error: unknown) => {
      assert.ok(error instanceof NatsUnavailableError);
      assert.match(error.message, new RegExp(`^NATS at nats://127\\.0\\.0\\.1:${port}: .*connection refused.*is nats-server running`));
      return true;
    });
    assert.ok(Date.now() - started < 2_000);

    const waited = Date.now();
    await assert.rejects(createTransport(natsOptions(`nats://127.0.0.1:${port}`, logger, { waitForServerMs: 800 })), NatsUnavailableError);
    assert.ok(Date.now() - waited >= 700, "kept trying for the time it was given");
  });

  test("a transport keeps working across a server restart: consumers resume, a publish made during the outage lands", async () => {
    const server = await NatsServerProcess.start();
    const logger = new CaptureLogger();
    const transport = await createTransport(natsOptions(server.url, logger));
    try {
      const tasks: string[] = [];
      const results: TaskResult[] = [];
      const taskConsumer = transport.tasks.consume(async (delivery) => {
        tasks.push(delivery.task.taskId);
      });
      const resultConsumer = transport.results.consume(async (result) => {
        results.push(result);
      });
      await transport.tasks.publish(trainParticleTask("exp-restart", 0, 0));
      await waitFor("the task before the outage", () => tasks.length === 1);

      await server.kill();
      const publishedDuringOutage = transport.results.publish(particleResult("exp-restart", 0, 0));
      await sleep(1_000);
      await server.restart();
      await publishedDuringOutage;
      await waitFor("the result published during the outage", () => results.length === 1, 15_000);

      await transport.tasks.publish(trainParticleTask("exp-restart", 0, 1));
      await waitFor("the task after the outage", () => tasks.length === 2, 15_000);
      await taskConsumer.stop();
      await resultConsumer.stop();

      assert.deepEqual(tasks, ["exp-restart:train-particle:0:0", "exp-restart:train-particle:0:1"]);
      assert.deepEqual(results, [particleResult("exp-restart", 0, 0)]);
      assert.ok(logger.matching(/disconnected; reconnecting with backoff/).length >= 1);
      assert.ok(logger.matching(/reconnected/).length >= 1);
    } finally {
      await transport.close();
      await server.dispose();
    }
  });
});

describe("task queue settings over NATS", () => {
  test("the first process sets them; a process with defaults adopts them; explicit settings change only what they name", async () => {
    const logger = new CaptureLogger();
    const namespace = uniqueNamespace();
    const base = { mode: "nats", url: NATS_TEST_URL, namespace, pullExpiresMs: 1_000, logger } as const;
    const first = await createTransport({ ...base, taskQueue: { ackWaitMs: 1_500, maxDeliveries: 2 } });
    const second = await createTransport(base);
    const third = await createTransport({ ...base, taskQueue: { ackWaitMs: 2_500 } });
    const fourth = await createTransport(base);
    try {
      assert.deepEqual(first.tasks.settings, { ackWaitMs: 1_500, maxDeliveries: 2, retryDelayMs: 2_000 });
      assert.deepEqual(second.tasks.settings, { ackWaitMs: 1_500, maxDeliveries: 2, retryDelayMs: 2_000 });
      assert.deepEqual(third.tasks.settings, { ackWaitMs: 2_500, maxDeliveries: 2, retryDelayMs: 2_000 });
      assert.deepEqual(fourth.tasks.settings, { ackWaitMs: 2_500, maxDeliveries: 2, retryDelayMs: 2_000 });
    } finally {
      for (const transport of [first, second, third, fourth]) await transport.close();
      const admin = await connectToNats({ url: NATS_TEST_URL }, logger);
      await deleteFleetResources(admin, await jetstreamManager(admin), fleetNames(namespace));
      await admin.close();
    }
  });
});

describe("transport options from the environment", () => {
  test("NATS_URL selects NATS with its credentials; without it the embedded transport in SWAMP_HOME", () => {
    assert.deepEqual(natsConnectionOptionsFromEnv({ NATS_URL: "nats://h:4222", NATS_USER: "u", NATS_PASSWORD: "p", NATS_TOKEN: "" }), {
      url: "nats://h:4222",
      user: "u",
      password: "p",
      token: undefined,
    });
    assert.equal(natsConnectionOptionsFromEnv({}).url, "nats://127.0.0.1:4222");
    assert.deepEqual(transportOptionsFromEnv({ NATS_URL: "nats://h:4222", NATS_TOKEN: "t", SWAMP_NATS_NAMESPACE: "blue" }), {
      mode: "nats",
      url: "nats://h:4222",
      user: undefined,
      password: undefined,
      token: "t",
      namespace: "blue",
    });
    assert.deepEqual(transportOptionsFromEnv({ SWAMP_HOME: "/data/swamp" }), { mode: "embedded", home: "/data/swamp" });
  });

  test("SWAMP_NATS_REPLICAS and SWAMP_TASK_ACK_WAIT_MS set the streams' copies and the task ack wait; bad values name the variable", () => {
    const options = transportOptionsFromEnv({ NATS_URL: "nats://h:4222", SWAMP_NATS_REPLICAS: "3", SWAMP_TASK_ACK_WAIT_MS: "5000" });
    assert.equal(options.mode === "nats" && options.replicas, 3);
    assert.deepEqual(options.mode === "nats" && options.taskQueue, { ackWaitMs: 5000 });
    assert.throws(() => transportOptionsFromEnv({ NATS_URL: "nats://h:4222", SWAMP_NATS_REPLICAS: "6" }), /SWAMP_NATS_REPLICAS must be a whole number from 1 to 5, got "6"/);
    assert.throws(() => transportOptionsFromEnv({ NATS_URL: "nats://h:4222", SWAMP_TASK_ACK_WAIT_MS: "soon" }), /SWAMP_TASK_ACK_WAIT_MS must be a whole number/);
    const limited = transportOptionsFromEnv({ NATS_URL: "nats://h:4222", SWAMP_ARTIFACTS_MAX_BYTES: "10737418240" });
    assert.equal(limited.mode === "nats" && limited.artifactsMaxBytes, 10_737_418_240);
    assert.throws(() => transportOptionsFromEnv({ NATS_URL: "nats://h:4222", SWAMP_ARTIFACTS_MAX_BYTES: "100" }), /SWAMP_ARTIFACTS_MAX_BYTES must be a whole number from 1048576/);
  });

  test("contradictory credentials are refused before connecting", async () => {
    const logger = new CaptureLogger();
    await assert.rejects(createTransport(natsOptions("nats://127.0.0.1:1", logger, { user: "u", password: "p", token: "t" })), NatsConfigurationError);
    await assert.rejects(createTransport(natsOptions("nats://127.0.0.1:1", logger, { user: "u" })), /NATS_USER and NATS_PASSWORD must be set together/);
  });
});
