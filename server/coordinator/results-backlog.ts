/**
 * How many results the durable stream still holds for the coordinator. At start-up the coordinator
 * records these before it resumes experiments: a task whose result is waiting there is done, and
 * republishing it would only train it again.
 */
import type { Transport } from "../../transport/transport.js";

/** Waits until the backlog is recorded, or `timeoutMs` passed; returns what is left. */
export async function waitForResultsBacklog(transport: Transport, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await transport.results.backlog();
    if (left === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
