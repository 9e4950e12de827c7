/**
 * Messages cross the wire (and the embedded queue) as UTF-8 JSON and are parsed again on arrival,
 * so both implementations see exactly what the other side could have sent.
 */
import { describeProblems, parseJsonMessage, type FleetMessageType, type MessageParseResult } from "../schema/fleet-messages.js";
import type { TransportLogger } from "./logger.js";

const encoder = new TextEncoder();

export function encodeMessage(message: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** Decodes and validates; a malformed message is logged with every problem and yields undefined. */
export function decodeMessage<T>(
  bytes: Uint8Array,
  parse: (json: unknown) => MessageParseResult<T>,
  type: FleetMessageType,
  origin: string,
  logger: TransportLogger,
): T | undefined {
  const result = parseJsonMessage(bytes, parse);
  if (result.ok) return result.value;
  logger.warn(`rejected malformed ${type} message from ${origin}: ${describeProblems(result.problems)}`);
  return undefined;
}
