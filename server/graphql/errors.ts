import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { InvalidInputError, NotFoundError, StateConflictError } from "../services/errors.js";

/** Codes clients can branch on; everything else is INTERNAL_SERVER_ERROR with a generic message. */
export type ErrorCode = "BAD_USER_INPUT" | "NOT_FOUND" | "CONFLICT" | "UNAUTHENTICATED" | "FORBIDDEN" | "QUERY_TOO_COMPLEX" | "TOO_MANY_SUBSCRIPTIONS" | "INTERNAL_SERVER_ERROR";

export function clientError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

/** Turns the service layer's deliberate errors into GraphQL errors with codes and field paths. */
export function toClientError(error: unknown): GraphQLError | null {
  if (error instanceof GraphQLError && typeof error.extensions?.code === "string") return error;
  if (error instanceof InvalidInputError) return clientError("BAD_USER_INPUT", error.message, { problems: error.problems });
  if (error instanceof NotFoundError) return clientError("NOT_FOUND", error.message);
  if (error instanceof StateConflictError) return clientError("CONFLICT", error.message);
  return null;
}

/** Codes whose messages were written for clients (graphql-js and Apollo's own included). */
const SAFE_CODES = new Set([
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "QUERY_TOO_COMPLEX",
  "TOO_MANY_SUBSCRIPTIONS",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

/**
 * The last stop before an error leaves the server: deliberate errors keep their message, code and
 * problems; anything else (a database error, a bug) is logged here and reaches the client only as
 * "internal server error", never with SQL or a stack trace.
 */
export function formatClientError(formatted: GraphQLFormattedError, original: unknown, log: (message: string) => void = console.error): GraphQLFormattedError {
  const cause = original instanceof GraphQLError && original.originalError ? original.originalError : original;
  const mapped = toClientError(cause);
  if (mapped) return { message: mapped.message, path: formatted.path, locations: formatted.locations, extensions: { ...mapped.extensions } };
  const code = formatted.extensions?.code;
  const isPlainGraphQLError = original instanceof GraphQLError && !original.originalError;
  if (typeof code === "string" && SAFE_CODES.has(code)) {
    return { message: formatted.message, path: formatted.path, locations: formatted.locations, extensions: publicExtensions(formatted.extensions) };
  }
  if (isPlainGraphQLError && isClientStatus(original.extensions.http)) {
    // Apollo's own request errors (e.g. a persisted query whose hash does not match) carry a 4xx
    // status but no code; they are the client's mistake, not the server's.
    return { message: formatted.message, path: formatted.path, locations: formatted.locations, extensions: { code: "BAD_REQUEST" } };
  }
  if (isPlainGraphQLError && code === undefined) {
    // graphql-js's own validation and coercion errors carry no code but are written for clients.
    return { message: formatted.message, path: formatted.path, locations: formatted.locations, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } };
  }
  log(`internal error${formatted.path ? ` at ${formatted.path.join(".")}` : ""}: ${describe(cause)}`);
  return { message: "internal server error", path: formatted.path, locations: formatted.locations, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

function isClientStatus(http: unknown): boolean {
  const status = (http as { status?: unknown } | undefined)?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}

/** Extensions safe to pass on: everything but transport details and traces. */
function publicExtensions(extensions: Record<string, unknown> | undefined): Record<string, unknown> {
  const { http: _http, stacktrace: _stacktrace, exception: _exception, ...rest } = extensions ?? {};
  return rest;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
