/**
 * Which database errors are worth retrying: the connection went away or the server is not
 * accepting work (a restart, a failover), or the transaction lost a race it may win next time.
 * Anything else (a constraint, a check, bad input) fails the same way again.
 */

/** SQLSTATE classes and codes that say "try again", not "this cannot be done". */
const TRANSIENT_SQLSTATE_CLASSES = ["08", "53", "57P"];
const TRANSIENT_SQLSTATES = new Set(["40001", "40P01", "55P03"]);
/** Node's socket errors while the database is unreachable. */
const TRANSIENT_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
/** What node-postgres and TypeORM say when a pooled connection was lost, without a code. */
const TRANSIENT_MESSAGES = [/Connection terminated/i, /connection timeout/i, /Client has encountered a connection error/i];

export function isTransientDatabaseError(error: unknown): boolean {
  if (error === null || typeof error !== "object") return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATE_CLASSES.some((prefix) => code.startsWith(prefix));
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === "string" && TRANSIENT_MESSAGES.some((pattern) => pattern.test(message));
}
