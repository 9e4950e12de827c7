/**
 * A JetStream publish that rides out a NATS restart: transient failures (no responders while
 * JetStream starts, a timed-out acknowledgement while reconnecting, a cluster without a leader for
 * the moment) are retried with backoff until
 * `giveUpAfterMs`. Callers make retries harmless with a message id or a subject expectation.
 */
import { JetStreamApiError, type JetStreamClient, type JetStreamPublishOptions, type PubAck } from "@nats-io/jetstream";
import type { TransportLogger } from "../logger.js";
import { isTransientTransportError } from "../transient-errors.js";

export const DEFAULT_PUBLISH_GIVE_UP_MS = 60_000;

export async function publishDurably(
  js: JetStreamClient,
  subject: string,
  payload: Uint8Array,
  options: Partial<JetStreamPublishOptions>,
  retry: { giveUpAfterMs: number; logger: TransportLogger; isConnectionClosed: () => boolean },
): Promise<PubAck> {
  const deadline = Date.now() + retry.giveUpAfterMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await js.publish(subject, payload, options);
    } catch (error) {
      // The server answered and refused (e.g. a failed expectation): retrying cannot help, unless
      // the answer was "temporarily unavailable" (a cluster electing a leader).
      const refused = error instanceof JetStreamApiError && !isTransientTransportError(error);
      if (refused || retry.isConnectionClosed() || Date.now() >= deadline) throw error;
      if (attempt === 1) retry.logger.warn(`publish to ${subject} failed (${(error as Error)?.message}); retrying`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}
