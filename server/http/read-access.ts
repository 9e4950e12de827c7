import type { DataSource } from "typeorm";
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
  const header = parseAuthorizationHeader(authorization);
  if ("error" in header) return { status: 401, message: header.error };
  const principal = await authenticate(options.dataSource.manager, header.secret, options.adminToken);
  if (principal.kind === "rejected") return { status: 401, message: principal.reason };
  if (principal.kind === "anonymous" && !options.publicReads) return { status: 401, message: `${action} needs a bearer token with read scope` };
  if (principal.kind === "token" && !principal.scopes.has("read")) return { status: 403, message: `${action} needs read scope` };
  return null;
}
