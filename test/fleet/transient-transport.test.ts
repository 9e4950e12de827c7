/**
 * A worker riding out transient transport errors (issue 18): with real NATS and PostgreSQL, a
 * worker whose transport fails its artifact writes, artifact reads and result publishes with the
 * errors of a JetStream leader election (timeouts, no responders, "temporarily unavailable") for
 * longer than the ack wait finishes every task on its first delivery: nothing is redelivered,
 * nothing handed to the ack wait. A real failure still spends a delivery. The faults are injected
 * at the Transport interface; the NATS underneath is real.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { JetStreamApiError } from "@nats-io/jetstream";
import { errors as natsErrors } from "@nats-io/transport-node";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import { createNatsTransport, type NatsTransport } from "../../transport/nats/nats-transport.js";
import type { ResultStream } from "../../transport/result-stream.js";
import type { TaskQueue } from "../../transport/task-queue.js";
import type { Transport } from "../../transport/transport.js";
import { FleetWorker } from "../../worker/fleet/fleet-worker.js";
import { CaptureLogger } from "../transport/support/capture-logger.js";
import { startFleet, tinyConfig, type Fleet } from "./support/fleet.js";

/** Longer than the ack wait (2 s here), so only in-progress signals keep a task on its first delivery. */
const OUTAGE_MS = 3_000;

type FaultyOperation = "put" | "get" | "publish";

/** The errors a worker meets while a JetStream cluster elects leaders, in turn. */
const ELECTION_ERRORS: Array<() => Error> = [
  () => new natsErrors.TimeoutError(),
  () => new JetStreamApiError({ code: 503, err_code: 10008, description: "JetStream system temporarily unavailable" }),
  () => new natsErrors.RequestError("no responders", { cause: new natsErrors.NoRespondersError("$JS.API.STREAM.MSG.GET") }),
];

/** Wraps `target`, replacing some of its members (a class instance keeps its other methods). */
function override<T extends object>(target: T, members: Partial<T>): T {
  return new Proxy(target, {
    get: (object, key) => (key in members ? members[key as keyof T] : Reflect.get(object, key, object)),
  });
}

interface Faults {
  transport: Transport;
  /** Failures injected, per operation. */
  injected: Record<FaultyOperation, number>;
  /** (task id, delivery count) of every delivery the worker was handed. */
  deliveries: Array<[string, number]>;
  /** The next `put` fails once with this error (a real, non-transient failure). */
  failNextPut(error: Error): void;
}

/**
 * Each of the three operations fails with election errors for OUTAGE_MS from its first call, as
 * the cluster would while it has no leader; afterwards it works.
 */
function withElectionOutage(transport: NatsTransport): Faults {
  const outageEnds: Partial<Record<FaultyOperation, number>> = {};
  const injected: Record<FaultyOperation, number> = { put: 0, get: 0, publish: 0 };
  const deliveries: Array<[string, number]> = [];
  let nextPutError: Error | undefined;
  const fault = (operation: FaultyOperation): void => {
    outageEnds[operation] ??= Date.now() + OUTAGE_MS;
    if (Date.now() < outageEnds[operation]!) throw ELECTION_ERRORS[injected[operation]++ % ELECTION_ERRORS.length]!();
  };
  const artifacts = override<ArtifactStore>(transport.artifacts, {
    put: async (bytes, options) => {
      if (nextPutError) {
        const error = nextPutError;
        nextPutError = undefined;
        throw error;
      }
      fault("put");
      return transport.artifacts.put(bytes, options);
    },
    get: async (ref) => {
      fault("get");
      return transport.artifacts.get(ref);
    },
  });
  const results = override<ResultStream>(transport.results, {
    publish: async (result) => {
      fault("publish");
      return transport.results.publish(result);
    },
  });
  const tasks = override<TaskQueue>(transport.tasks, {
    consume: (handler, options) =>
      transport.tasks.consume((delivery) => {
        deliveries.push([delivery.task.taskId, delivery.deliveryCount]);
        return handler(delivery);
      }, options),
  });
  return {
    transport: override<Transport>(transport, { artifacts, results, tasks }),
    injected,
    deliveries,
    failNextPut: (error) => (nextPutError = error),
  };
}

let fleet: Fleet;
let workerTransport: NatsTransport;
let faults: Faults;
let worker: FleetWorker;
const workerLines: string[] = [];

before(async () => {
  fleet = await startFleet({ label: "transient", taskQueue: { ackWaitMs: 2_000, maxDeliveries: 3, retryDelayMs: 200 } });
  workerTransport = await createNatsTransport({ url: fleet.natsUrl, namespace: fleet.namespace, pullExpiresMs: 1_000, logger: new CaptureLogger() });
  faults = withElectionOutage(workerTransport);
  // Two slots: a free one pulls all the while, so a task whose ack wait ran out would come back to it.
  worker = new FleetWorker({ transport: faults.transport, slots: 2, workerId: "transient-worker", log: (line) => workerLines.push(line) });
  await worker.start();
});

after(async () => {
  await worker?.stop();
  await workerTransport?.close();
  await fleet?.close();
});

async function recordedAttempts(experimentId: string): Promise<number[]> {
  const rows: Array<{ attempt: number }> = await fleet.server.server.dataSource.query(`SELECT attempt FROM task_results WHERE experiment_id = $1 ORDER BY task_id`, [experimentId]);
  return rows.map((row) => row.attempt);
}

test("artifact writes, reads and result publishes failing for longer than the ack wait spend no delivery", async () => {
  const id = await fleet.submit(tinyConfig({ name: "transient-outage", seed: 11 }));
  assert.equal(await fleet.waitForStatus(id, ["completed", "failed"], 120_000), "completed", (await fleet.experiment(id)).error ?? "");
  for (const operation of ["put", "get", "publish"] as const) assert.ok(faults.injected[operation] >= 2, `${operation} failed repeatedly (${faults.injected[operation]} times)`);
  assert.deepEqual(await recordedAttempts(id), [1, 1, 1, 1, 1, 1, 1], "pretrain, two particles, the aggregate, two particles, the aggregate: each from its first delivery");
  assert.deepEqual(
    faults.deliveries.filter(([taskId]) => taskId.startsWith(id)).map(([, count]) => count),
    [1, 1, 1, 1, 1, 1, 1],
    "no task was delivered twice: neither a failed handler nor an expired ack wait",
  );
  assert.ok(workerLines.some((line) => /transient transport error .*retrying for up to 120 s, keeping the task/.test(line)), workerLines.join("\n"));
});

test("a real failure still spends a delivery", async () => {
  faults.failNextPut(new Error("disk on fire"));
  const id = await fleet.submit(tinyConfig({ name: "transient-real-failure", seed: 12 }));
  assert.equal(await fleet.waitForStatus(id, ["completed", "failed"], 120_000), "completed", (await fleet.experiment(id)).error ?? "");
  const counts = faults.deliveries.filter(([taskId]) => taskId.startsWith(id));
  assert.deepEqual(counts[0], [`${id}:pretrain`, 1]);
  assert.deepEqual(counts[1], [`${id}:pretrain`, 2], "the failed pretrain task was delivered again");
  assert.ok(workerLines.some((line) => /pretrain failed on delivery 1\/3: disk on fire/.test(line)), workerLines.join("\n"));
  const [pretrain] = (await fleet.server.server.dataSource.query(`SELECT attempt FROM task_results WHERE task_id = $1`, [`${id}:pretrain`])) as Array<{ attempt: number }>;
  assert.equal(pretrain?.attempt, 2, "recorded from its second delivery");
});
