import type { MiddlewareFn } from "type-graphql";
import type { TokenScope } from "../../schema/statuses.js";
import type { GraphQLContext } from "./context.js";
import { clientError } from "./errors.js";

/**
 * Refuses unless the request's principal holds `scope`. Reads need no token when the server was
 * started with public reads, but a token that was presented and rejected is refused everywhere.
 */
export function requireScope(context: GraphQLContext, scope: TokenScope, action: string): void {
  const principal = context.principal;
  if (principal.kind === "rejected") throw clientError("UNAUTHENTICATED", `${action} refused: ${principal.reason}`);
  if (scope === "read" && context.settings.publicReads) return;
  if (principal.kind === "anonymous") throw clientError("UNAUTHENTICATED", `${action} needs a bearer token with ${scope} scope (Authorization: Bearer <token>)`);
  if (!principal.scopes.has(scope)) throw clientError("FORBIDDEN", `${action} needs ${scope} scope; token "${principal.name}" has ${[...principal.scopes].join(", ") || "none"}`);
}

const ROOT_SCOPES: Record<string, TokenScope> = { Query: "read", Subscription: "read", Mutation: "write" };

/**
 * Guards every root field: queries and subscriptions need read scope, mutations write scope.
 * Resolvers that need more (token management needs admin) check it themselves.
 */
export const rootFieldGuard: MiddlewareFn<GraphQLContext> = async ({ context, info }, next) => {
  if (info.path.prev === undefined) {
    const scope = ROOT_SCOPES[info.parentType.name];
    if (scope) requireScope(context, scope, `${info.parentType.name.toLowerCase()} ${info.fieldName}`);
  }
  return next();
};
