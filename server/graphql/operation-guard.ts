/**
 * What every GraphQL operation passes before it runs, over HTTP and over WebSocket alike: the
 * caller may run it (token scope), and its estimated cost is within the limit. (Its source nesting
 * is refused earlier, before parsing: see nesting.ts.)
 */
import { GraphQLError, type DocumentNode, type GraphQLSchema } from "graphql";
import { authorizeOperation, type Caller } from "./auth.js";
import { complexityError, operationComplexity, type QueryLimits } from "./limits.js";

export interface GuardedOperation {
  document: DocumentNode;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | undefined;
}

/** The refusal of an operation, `kind` saying why (HTTP maps it to a status); null when it may run. */
export function operationRefusal(
  schema: GraphQLSchema,
  limits: QueryLimits,
  operation: GuardedOperation,
  caller: Caller,
): { kind: "unauthorized" | "too-complex"; error: GraphQLError } | null {
  const refused = authorizeOperation(operation.document, operation.operationName, caller);
  if (refused) return { kind: "unauthorized", error: refused };
  try {
    const complexity = operationComplexity(schema, operation.document, operation.variables, operation.operationName);
    if (complexity > limits.maxComplexity) return { kind: "too-complex", error: complexityError(complexity, limits) };
  } catch (thrown) {
    if (!(thrown instanceof GraphQLError)) throw thrown;
    return { kind: "too-complex", error: thrown };
  }
  return null;
}
