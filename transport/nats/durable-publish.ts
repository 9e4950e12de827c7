/**
 * A JetStream publish that rides out a NATS restart: transient failures (no responders while
 * JetStream starts, a timed-out acknowledgement while reconnecting, a cluster without a leader for
 * the moment) are retried with backoff until
 * `giveUpAfterMs`. Callers make retries harmless with a message id or a subject expectation.
 */
import { JetStreamApiError, type JetStreamClient, type JetStreamPublishOptions, type PubAck } from "@nats-io/jetstream";
import type { TransportLogger } from "../logger.js";
import { isTransientTransportError } from "../transient-errors.js";
import { retryTransient } from "../transient-retry.js";

export const DEFAULT_PUBLISH_GIVE_UP_MS = 60_000;

export async function publishDurably(
  js: JetStreamClient,
  subject: string,
  payload: Uint8Array,
  options: Partial<JetStreamPublishOptions>,
  retry: { giveUpAfterMs: number; logger: TransportLogger; isConnectionClosed: () => boolean },
): Promise<PubAck> {
  return retryTransient(() => js.publish(subject, payload, options), {
    giveUpAfterMs: retry.giveUpAfterMs,
    initialDelayMs: 200,
    maxDelayMs: 2_000,
    // The server answered and refused (e.g. a failed expectation): retrying cannot help, unless
    // the answer was "temporarily unavailable" (a cluster electing a leader). Anything else here
    // (a timed-out acknowledgement, no responders) is a NATS restart to ride out.
    isTransient: (error) => !(error instanceof JetStreamApiError) || isTransientTransportError(error),
    shouldStop: retry.isConnectionClosed,
    onRetry: (error, attempt) => {
      if (attempt === 1) retry.logger.warn(`publish to ${subject} failed (${error?.message}); retrying`);
    },
  });
}
