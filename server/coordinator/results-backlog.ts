/**
 * How many results the durable stream still holds for the coordinator. At start-up the coordinator
 * records these before it resumes experiments: a task whose result is waiting there is done, and
 * republishing it would only train it again.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsTransport, Transport } from "../../transport/transport.js";

/** Results stored and not yet recorded (pending or being recorded); 0 for the embedded transport, whose results do not outlive the process. */
export async function resultsBacklog(transport: Transport): Promise<number> {
  if (transport.mode !== "nats") return 0;
  const { connection, names } = transport as NatsTransport;
  const jsm = await jetstreamManager(connection);
  const info = await jsm.consumers.info(names.resultsStream, names.resultsConsumer);
  return info.num_pending + info.num_ack_pending;
}

/** Waits until the backlog is recorded, or `timeoutMs` passed; returns what is left. */
export async function waitForResultsBacklog(transport: Transport, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await resultsBacklog(transport);
    if (left === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
