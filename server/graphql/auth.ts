import { GraphQLError, Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import type { TokenScope } from "../../schema/statuses.js";
import type { Principal } from "../services/tokens.js";
import type { GraphQLContext, ServerSettings } from "./context.js";
import { clientError } from "./errors.js";

export interface Caller {
  principal: Principal;
  settings: ServerSettings;
}

/** Why `caller` may not act with `scope`, or null when it may. */
function refusal(caller: Caller, scope: TokenScope, action: string): GraphQLError | null {
  const principal = caller.principal;
  if (principal.kind === "rejected") return clientError("UNAUTHENTICATED", `${action} refused: ${principal.reason}`);
  if (scope === "read" && caller.settings.publicReads) return null;
  if (principal.kind === "anonymous") return clientError("UNAUTHENTICATED", `${action} needs a bearer token with ${scope} scope (Authorization: Bearer <token>)`);
  if (!principal.scopes.has(scope)) return clientError("FORBIDDEN", `${action} needs ${scope} scope; token "${principal.name}" has ${[...principal.scopes].join(", ") || "none"}`);
  return null;
}

/**
 * Refuses unless the request's principal holds `scope`. Reads need no token when the server was
 * started with public reads, but a token that was presented and rejected is refused everywhere.
 */
export function requireScope(context: GraphQLContext, scope: TokenScope, action: string): void {
  const error = refusal(context, scope, action);
  if (error) throw error;
}

/**
 * Checked once per operation, before it executes (not per field, which would cost on every
 * object of a large result): mutations need write scope, queries and subscriptions read scope.
 * A query of introspection fields only is open to anyone, so the explorer can show the schema
 * (which is published in schema/schema.graphql anyway). Fields needing more (token management
 * needs admin) check that themselves.
 */
export function authorizeOperation(document: DocumentNode, operationName: string | null | undefined, caller: Caller): GraphQLError | null {
  const operation = findOperation(document, operationName);
  if (!operation) return null; // graphql-js reports the missing operation itself
  const fields = rootFieldNames(document, operation.selectionSet, new Set());
  const named = fields.filter((name) => !name.startsWith("__"));
  if (named.length === 0) return null;
  const scope: TokenScope = operation.operation === "mutation" ? "write" : "read";
  return refusal(caller, scope, `${operation.operation} ${named[0]}`);
}

function findOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return operations.find((o) => o.name?.value === operationName);
  return operations.length === 1 ? operations[0] : undefined;
}

function rootFieldNames(document: DocumentNode, selectionSet: SelectionSetNode, visiting: Set<string>): string[] {
  const names: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) names.push(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) names.push(...rootFieldNames(document, selection.selectionSet, visiting));
    else if (!visiting.has(selection.name.value)) {
      visiting.add(selection.name.value);
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment && fragment.kind === Kind.FRAGMENT_DEFINITION) names.push(...rootFieldNames(document, fragment.selectionSet, visiting));
    }
  }
  return names;
}
