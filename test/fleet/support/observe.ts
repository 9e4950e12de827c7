/** Watching a fleet from a test: metric batches as workers send them, and worker log lines. */
import type { MetricBatch } from "../../../schema/fleet-messages.js";
import type { Transport } from "../../../transport/transport.js";
import { waitFor } from "../../transport/support/waiting.js";
import type { WorkerProcess } from "./fleet.js";

export interface MetricWatch {
  readonly batches: MetricBatch[];
  /** When the last batch arrived (Date.now()), 0 before any. */
  lastAt(): number;
  stop(): Promise<void>;
}

/** Every metric batch of the experiment, as the workers publish them (a listener beside the server). */
export async function watchMetrics(transport: Transport, experimentId: string): Promise<MetricWatch> {
  const batches: MetricBatch[] = [];
  let lastAt = 0;
  const subscription = await transport.metrics.subscribe({ experimentId }, (batch) => {
    batches.push(batch);
    lastAt = Date.now();
  });
  return { batches, lastAt: () => lastAt, stop: () => subscription.unsubscribe() };
}

export async function waitForWorkerLine(worker: WorkerProcess, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  await waitFor(`worker ${worker.id} to log ${pattern}`, () => {
    if (worker.child.exitCode !== null) throw new Error(`worker ${worker.id} exited: ${worker.stderr()}`);
    return pattern.test(worker.stderr());
  }, timeoutMs);
}
