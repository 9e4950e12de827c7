/**
 * A core NATS subscription whose messages are validated before the handler sees them. The
 * subscription is confirmed with the server (flush) before it is returned, so nothing published
 * afterwards is missed.
 */
import type { MessageParseResult, FleetMessageType } from "../../schema/fleet-messages.js";
import { decodeMessage } from "../message-codec.js";
import type { Subscription } from "../subscription.js";
import type { NatsContext } from "./nats-context.js";

export async function subscribeValidated<T>(
  context: NatsContext,
  subject: string,
  queueGroup: string | undefined,
  parse: (json: unknown) => MessageParseResult<T>,
  type: FleetMessageType,
  handler: (message: T) => void | Promise<void>,
): Promise<Subscription> {
  const { connection, logger } = context;
  const subscription = connection.subscribe(subject, {
    queue: queueGroup,
    // Core NATS callbacks must stay synchronous; an async handler's failure is logged.
    callback: (error, message) => {
      if (error) return logger.warn(`subscription to ${subject} failed: ${error.message}`);
      const value = decodeMessage(message.data, parse, type, message.subject, logger);
      if (value === undefined) return;
      try {
        void Promise.resolve(handler(value)).catch((handlerError: unknown) => logger.warn(`${type} handler failed: ${(handlerError as Error)?.message}`));
      } catch (handlerError) {
        logger.warn(`${type} handler failed: ${(handlerError as Error)?.message}`);
      }
    },
  });
  await connection.flush();
  return {
    async unsubscribe() {
      if (!subscription.isClosed()) await subscription.drain();
    },
  };
}
