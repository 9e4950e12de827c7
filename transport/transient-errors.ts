/**
 * Which transport errors say "the messaging system is busy electing or reconnecting, ask again"
 * rather than "this cannot be done": a request that timed out or found no responder (a JetStream
 * node restarting, a stream or consumer without a leader for the moment), and the JetStream API's
 * own "temporarily unavailable" answers. Everything else (a refused expectation, a missing object,
 * corrupt bytes, a full bucket, a closed connection) fails the same way again.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { jserrors, JetStreamStatusError } from "@nats-io/jetstream/internal";
import { errors as natsErrors } from "@nats-io/transport-node";

/**
 * JetStream API error codes of a cluster between states: incomplete (10004), no peers for
 * placement yet (10005), not assigned to this server yet (10007), temporarily unavailable (10008:
 * the meta group has no leader), can not handle the request (10009: not the leader).
 */
const TRANSIENT_JETSTREAM_CODES = new Set([10004, 10005, 10007, 10008, 10009]);
/** Status codes of a JetStream reply: 408 request timeout, 503 no responders / unavailable. */
const TRANSIENT_STATUS_CODES = new Set([408, 503]);

export function isTransientTransportError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof natsErrors.ClosedConnectionError || error instanceof natsErrors.DrainingConnectionError) return false;
  if (error instanceof natsErrors.TimeoutError || error instanceof natsErrors.NoRespondersError) return true;
  if (error instanceof natsErrors.RequestError) return error.isNoResponders() || isTransientTransportError(error.cause);
  // The JetStream client's name for "no responder on the JetStream API": a node still starting, or an election.
  if (error instanceof jserrors.JetStreamNotEnabled) return error.cause !== undefined && isTransientTransportError(error.cause);
  if (error instanceof JetStreamApiError) return TRANSIENT_JETSTREAM_CODES.has(error.code) || TRANSIENT_STATUS_CODES.has(error.status);
  if (error instanceof JetStreamStatusError) return TRANSIENT_STATUS_CODES.has(error.code);
  // The object store reports an ordered consumer that stopped hearing from its stream, and wraps causes.
  if (error.cause !== undefined && error.cause !== error) return isTransientTransportError(error.cause);
  return false;
}
