import type { Request } from "express";
import type { DataSource } from "typeorm";
import { authenticate, parseAuthorizationHeader } from "../services/tokens.js";

export interface ReadAccessOptions {
  dataSource: DataSource;
  publicReads: boolean;
  adminToken: string | null;
}

export type ReadAccess = { allowed: true } | { allowed: false; status: 401 | 403; reason: string };

/**
 * Whether a plain HTTP request (a download, an export) may read: the same rule as GraphQL queries,
 * a bearer token with read scope, or no token at all when the server allows public reads.
 */
export async function checkReadAccess(req: Request, options: ReadAccessOptions, what: string): Promise<ReadAccess> {
  const header = parseAuthorizationHeader(req.headers.authorization);
  if ("error" in header) return { allowed: false, status: 401, reason: header.error };
  const principal = await authenticate(options.dataSource.manager, header.secret, options.adminToken);
  if (principal.kind === "rejected") return { allowed: false, status: 401, reason: principal.reason };
  if (principal.kind === "anonymous" && !options.publicReads) return { allowed: false, status: 401, reason: `${what} needs a bearer token with read scope` };
  if (principal.kind === "token" && !principal.scopes.has("read")) return { allowed: false, status: 403, reason: `${what} needs read scope` };
  return { allowed: true };
}
