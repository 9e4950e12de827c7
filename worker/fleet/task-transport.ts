/**
 * The transport as one task's handler uses it: artifact reads and writes and the result's publish
 * wait out transient transport errors (a JetStream leader election, a NATS node restarting) in
 * place, with bounded backoff, and keep the delivery alive (in-progress signals) while they wait,
 * so an outage of a few seconds neither spends one of the task's deliveries nor lets the ack wait
 * hand the task to another worker. Any other error, or a transient one that outlasts the budget,
 * fails the delivery as before.
 */
import type { TaskResultInput } from "../../schema/fleet-messages.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { TaskDelivery } from "../../transport/task-queue.js";
import { retryTransient } from "../../transport/transient-retry.js";
import type { Transport } from "../../transport/transport.js";

/** How long a task's transport operation waits out transient errors by default. */
export const DEFAULT_TRANSIENT_RETRY_MS = 120_000;

export interface TaskTransportOptions {
  transport: Transport;
  delivery: TaskDelivery;
  /** How long one operation keeps retrying transient errors. */
  giveUpAfterMs: number;
  /** True once the task is cancelled or the worker stops: retrying ends with the last error. */
  shouldStop: () => boolean;
  log: (line: string) => void;
}

export interface TaskTransport {
  artifacts: ArtifactStore;
  publishResult(result: TaskResultInput): Promise<void>;
}

export function taskTransport(options: TaskTransportOptions): TaskTransport {
  const { transport, delivery } = options;
  const taskId = delivery.task.taskId;
  // working() coalesces calls closer than a quarter of the ack wait; ask more often than that.
  const keepAliveEveryMs = Math.max(50, Math.floor(transport.tasks.settings.ackWaitMs / 8));
  const guarded = async <T>(what: string, operation: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    // Bounded like the retries: an operation that hangs (no error to retry) keeps the task no
    // longer than the budget, after which the ack wait hands it on as it would a stalled worker's.
    const keepAlive = setInterval(() => {
      if (Date.now() - started <= options.giveUpAfterMs) delivery.working();
      else clearInterval(keepAlive);
    }, keepAliveEveryMs);
    try {
      return await retryTransient(operation, {
        giveUpAfterMs: options.giveUpAfterMs,
        shouldStop: options.shouldStop,
        onRetry: (error, attempt, delayMs) => {
          delivery.working();
          if (attempt === 1) options.log(`${taskId}: ${what} failed on a transient transport error (${error.message}); retrying for up to ${options.giveUpAfterMs / 1000} s, keeping the task`);
          else if (attempt % 10 === 0) options.log(`${taskId}: ${what} still failing after ${attempt} attempts (${error.message}); next in ${delayMs} ms`);
        },
      });
    } finally {
      clearInterval(keepAlive);
    }
  };
  const store = transport.artifacts;
  const artifacts: ArtifactStore = {
    put: (bytes, putOptions) => guarded("storing an artifact", () => store.put(bytes, putOptions)),
    get: (ref) => guarded(`reading artifact ${ref.sha256.slice(0, 12)}`, () => store.get(ref)),
    has: (ref) => guarded("looking up an artifact", () => store.has(ref)),
    delete: (ref) => guarded("deleting an artifact", () => store.delete(ref)),
    size: (ref) => guarded("looking up an artifact", () => store.size(ref)),
    location: (ref) => store.location(ref),
    handles: (location) => store.handles(location),
    read: (location, range) => guarded("reading an artifact", () => store.read(location, range)),
    remove: (location) => guarded("removing an artifact", () => store.remove(location)),
    list: () => guarded("listing artifacts", () => store.list()),
  };
  return {
    artifacts,
    // A publish retried after a lost acknowledgement is stored once (the result stream deduplicates by attempt).
    publishResult: (result) => guarded("publishing the result", () => transport.results.publish(result)),
  };
}
