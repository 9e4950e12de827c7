/**
 * Transient transport errors: the errors a real nats-server gives while nothing answers (no
 * responder, a timeout, JetStream's "temporarily unavailable") are retried; a refusal (a failed
 * expectation), a missing or corrupt artifact and a closed connection are not. retryTransient
 * waits out the former within its budget and stops at once for the latter or when told to.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { JetStreamApiError, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { errors as natsErrors, type NatsConnection } from "@nats-io/transport-node";
import { ArtifactNotFoundError, CorruptArtifactError } from "../../transport/artifact-store.js";
import { connectToNats } from "../../transport/nats/connection.js";
import { isTransientTransportError } from "../../transport/transient-errors.js";
import { retryTransient } from "../../transport/transient-retry.js";
import { CaptureLogger } from "./support/capture-logger.js";
import { NATS_TEST_URL, uniqueNamespace } from "./support/implementations.js";

/** What nats-server answers a JetStream request while its cluster has no meta leader. */
function clusterUnavailable(): JetStreamApiError {
  return new JetStreamApiError({ code: 503, err_code: 10008, description: "JetStream system temporarily unavailable" });
}

async function errorOf(operation: () => Promise<unknown>): Promise<unknown> {
  try {
    await operation();
  } catch (error) {
    return error;
  }
  throw new Error("the operation did not fail");
}

describe("errors of a real nats-server", () => {
  let connection: NatsConnection;
  const stream = `TRANSIENT_${uniqueNamespace()}`;
  before(async () => {
    connection = await connectToNats({ url: NATS_TEST_URL }, new CaptureLogger());
  });
  after(async () => {
    await (await jetstreamManager(connection)).streams.delete(stream).catch(() => undefined);
    await connection.close();
  });

  test("no responder, a timed-out request and a JetStream publish nothing stores are transient", async () => {
    const noResponder = await errorOf(() => connection.request(`nobody.${stream}`, "x", { timeout: 1_000 }));
    assert.ok(isTransientTransportError(noResponder), `no responders: ${String(noResponder)}`);
    const silent = connection.subscribe(`silent.${stream}`);
    const timedOut = await errorOf(() => connection.request(`silent.${stream}`, "x", { timeout: 200 }));
    silent.unsubscribe();
    assert.ok(isTransientTransportError(timedOut), `timeout: ${String(timedOut)}`);
    // What a worker's publish meets while the node it is connected to restarts its JetStream.
    const unstored = await errorOf(() => jetstream(connection).publish(`unstored.${stream}`, "x", { timeout: 1_000 }));
    assert.ok(isTransientTransportError(unstored), `unstored publish: ${String(unstored)}`);
    assert.ok(isTransientTransportError(clusterUnavailable()));
  });

  test("a refused expectation, a missing or corrupt artifact, a closed connection and plain errors are not", async () => {
    const jsm = await jetstreamManager(connection);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const js = jetstream(connection);
    await js.publish(`${stream}.a`, "x");
    const refused = await errorOf(() => js.publish(`${stream}.a`, "x", { expect: { lastSubjectSequence: 0 } }));
    assert.ok(refused instanceof JetStreamApiError, String(refused));
    assert.equal(isTransientTransportError(refused), false);
    const ref = { sha256: "0".repeat(64), size: 1 };
    assert.equal(isTransientTransportError(new ArtifactNotFoundError(ref, "a bucket")), false);
    assert.equal(isTransientTransportError(new CorruptArtifactError(ref, "bad bytes")), false);
    assert.equal(isTransientTransportError(new natsErrors.ClosedConnectionError()), false);
    assert.equal(isTransientTransportError(new Error("timeout")), false, "judged by type, not by wording");
    assert.equal(isTransientTransportError("timeout"), false);
    // A wrapper keeps its cause's nature.
    assert.ok(isTransientTransportError(new Error("reading the object failed", { cause: new natsErrors.TimeoutError() })));
  });
});

describe("retryTransient", () => {
  test("waits out transient failures and returns the result, telling each retry", async () => {
    let calls = 0;
    const retries: number[] = [];
    const value = await retryTransient(
      async () => {
        calls++;
        if (calls <= 3) throw calls % 2 === 0 ? clusterUnavailable() : new natsErrors.TimeoutError();
        return "stored";
      },
      { giveUpAfterMs: 10_000, initialDelayMs: 10, onRetry: (_error, attempt) => retries.push(attempt) },
    );
    assert.equal(value, "stored");
    assert.equal(calls, 4);
    assert.deepEqual(retries, [1, 2, 3]);
  });

  test("throws a non-transient error at once", async () => {
    let calls = 0;
    const error = await errorOf(() =>
      retryTransient(async () => {
        calls++;
        throw new Error("disk on fire");
      }, { giveUpAfterMs: 10_000, initialDelayMs: 10 }),
    );
    assert.equal((error as Error).message, "disk on fire");
    assert.equal(calls, 1);
  });

  test("gives up with the last transient error once its budget is spent", async () => {
    let calls = 0;
    const started = Date.now();
    const error = await errorOf(() =>
      retryTransient(async () => {
        calls++;
        throw new natsErrors.TimeoutError();
      }, { giveUpAfterMs: 300, initialDelayMs: 20, maxDelayMs: 40 }),
    );
    assert.ok(error instanceof natsErrors.TimeoutError);
    assert.ok(calls >= 3, `retried (${calls} calls)`);
    assert.ok(Date.now() - started >= 300, "not before the budget");
  });

  test("stops retrying when told to (a cancellation, a worker stopping)", async () => {
    let calls = 0;
    let stop = false;
    const error = await errorOf(() =>
      retryTransient(async () => {
        calls++;
        if (calls === 2) stop = true;
        throw clusterUnavailable();
      }, { giveUpAfterMs: 60_000, initialDelayMs: 10, shouldStop: () => stop }),
    );
    assert.ok(error instanceof JetStreamApiError);
    assert.equal(calls, 2);
  });
});
