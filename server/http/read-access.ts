import type { DataSource } from "typeorm";
import type { TokenScope } from "../../schema/statuses.js";
import { authenticate, parseAuthorizationHeader } from "../services/tokens.js";

export interface ReadAccessOptions {
  dataSource: DataSource;
  publicReads: boolean;
  adminToken: string | null;
}

export interface ReadRefusal {
  status: 401 | 403;
  message: string;
}

/**
 * The read authorisation of GraphQL queries, for plain HTTP routes (downloads, exports): a bearer
 * token with read scope, or none at all when the server allows public reads; a token that was
 * presented and rejected is refused even then. Returns why `action` is refused, or null.
 */
export async function refuseRead(options: ReadAccessOptions, authorization: string | undefined, action: string): Promise<ReadRefusal | null> {
  const outcome = await authorize(options, authorization, "read", action);
  return "refusal" in outcome ? outcome.refusal : null;
}

/**
 * The write authorisation of GraphQL mutations, for plain HTTP routes (imports): always a token
 * with write scope. Returns why `action` is refused, or who acts (the token's name, as mutations
 * record owners).
 */
export async function authorizeWrite(options: ReadAccessOptions, authorization: string | undefined, action: string): Promise<{ refusal: ReadRefusal } | { owner: string | null }> {
  return authorize(options, authorization, "write", action);
}

async function authorize(options: ReadAccessOptions, authorization: string | undefined, scope: TokenScope, action: string): Promise<{ refusal: ReadRefusal } | { owner: string | null }> {
  const header = parseAuthorizationHeader(authorization);
  if ("error" in header) return { refusal: { status: 401, message: header.error } };
  const principal = await authenticate(options.dataSource.manager, header.secret, options.adminToken);
  if (principal.kind === "rejected") return { refusal: { status: 401, message: principal.reason } };
  if (principal.kind === "anonymous") {
    return scope === "read" && options.publicReads ? { owner: null } : { refusal: { status: 401, message: `${action} needs a bearer token with ${scope} scope` } };
  }
  if (!principal.scopes.has(scope)) return { refusal: { status: 403, message: `${action} needs ${scope} scope` } };
  return { owner: principal.name };
}
