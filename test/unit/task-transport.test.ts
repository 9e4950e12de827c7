/**
 * A task's view of the transport (worker/fleet/task-transport.ts) with faults injected at the
 * Transport interface: transient errors are retried while the delivery is kept alive, a real error
 * is thrown at once, and an operation that hangs keeps the delivery alive only within the budget.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { errors as natsErrors } from "@nats-io/transport-node";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { TaskDelivery } from "../../transport/task-queue.js";
import type { Transport } from "../../transport/transport.js";
import { taskTransport } from "../../worker/fleet/task-transport.js";
import { sleep } from "../transport/support/waiting.js";

const REF = { sha256: "ab".repeat(32), size: 3 };

function fakes(get: ArtifactStore["get"], ackWaitMs = 400) {
  const signals: number[] = [];
  const delivery = { task: { taskId: "exp:pretrain" }, working: () => void signals.push(Date.now()) } as unknown as TaskDelivery;
  const transport = { tasks: { settings: { ackWaitMs, maxDeliveries: 3, retryDelayMs: 100 } }, artifacts: { get } } as unknown as Transport;
  return { signals, delivery, transport };
}

test("transient errors are retried with the delivery kept alive; the bytes come back", async () => {
  let calls = 0;
  const { signals, delivery, transport } = fakes(async () => {
    if (++calls <= 3) throw new natsErrors.TimeoutError();
    return new Uint8Array([1, 2, 3]);
  });
  const lines: string[] = [];
  const io = taskTransport({ transport, delivery, giveUpAfterMs: 10_000, shouldStop: () => false, log: (line) => lines.push(line) });
  assert.deepEqual(await io.artifacts.get(REF), new Uint8Array([1, 2, 3]));
  assert.equal(calls, 4);
  assert.ok(signals.length >= 3, `a sign of life at each retry (${signals.length})`);
  assert.equal(lines.length, 1, "one line when the retries begin");
  assert.match(lines[0]!, /^exp:pretrain: reading artifact abababababab failed on a transient transport error/);
});

test("a real error is thrown at once, and stopping the task ends the retries", async () => {
  let calls = 0;
  const broken = fakes(async () => {
    calls++;
    throw new Error("disk on fire");
  });
  const io = taskTransport({ transport: broken.transport, delivery: broken.delivery, giveUpAfterMs: 10_000, shouldStop: () => false, log: () => undefined });
  await assert.rejects(io.artifacts.get(REF), /disk on fire/);
  assert.equal(calls, 1);

  let stop = false;
  const cancelled = fakes(async () => {
    stop = true;
    throw new natsErrors.TimeoutError();
  });
  const stopped = taskTransport({ transport: cancelled.transport, delivery: cancelled.delivery, giveUpAfterMs: 10_000, shouldStop: () => stop, log: () => undefined });
  await assert.rejects(stopped.artifacts.get(REF), natsErrors.TimeoutError);
});

test("an operation that hangs keeps the delivery alive only within the budget", async () => {
  const { signals, delivery, transport } = fakes(() => new Promise<Uint8Array>(() => undefined), 400);
  const started = Date.now();
  void taskTransport({ transport, delivery, giveUpAfterMs: 300, shouldStop: () => false, log: () => undefined }).artifacts.get(REF);
  await sleep(900);
  assert.ok(signals.length >= 3, `kept alive at first (${signals.length} signals)`);
  assert.ok(signals.every((at) => at - started <= 300 + 60), `no sign of life past the budget: ${signals.map((at) => at - started).join(", ")} ms`);
});
