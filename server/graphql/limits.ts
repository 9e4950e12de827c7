import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from "graphql-query-complexity";

export interface QueryLimits {
  /** Deepest field nesting allowed (`{ a { b } }` is depth 2). */
  maxDepth: number;
  /** Highest estimated cost allowed; see the `complexity` of list fields in the types. */
  maxComplexity: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxDepth: 12, maxComplexity: 250_000 };

/**
 * How deep an introspection query (`__schema`, `__type`) may nest. Its fields cost nothing in
 * the database, so they are exempt from `maxDepth`, but not unbounded: a few thousand nested
 * `ofType`s overflow the stack while executing. graphql-js's full introspection query (the
 * explorer's) is 15 deep.
 */
export const MAX_INTROSPECTION_DEPTH = 20;

/** A validation rule refusing documents nested deeper than `maxDepth` (fragments followed). */
export function depthLimitRule(maxDepth: number): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    let deepestIntrospection = 0;
    // Stops counting once past `limit`: enough to refuse, and bounded work on a hostile document.
    const depthOf = (selectionSet: SelectionSetNode | undefined, visiting: Set<string>, limit: number): number => {
      if (!selectionSet) return 0;
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          if (!selection.name.value.startsWith("__")) deepest = Math.max(deepest, 1 + depthOf(selection.selectionSet, visiting, limit));
          else deepestIntrospection = Math.max(deepestIntrospection, 1 + depthOf(selection.selectionSet, visiting, MAX_INTROSPECTION_DEPTH));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, visiting, limit));
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || visiting.has(name)) continue; // unknown or cyclic fragments are other rules' errors
          visiting.add(name);
          deepest = Math.max(deepest, depthOf(fragment.selectionSet, visiting, limit));
          visiting.delete(name);
        }
        if (deepest > limit || deepestIntrospection > MAX_INTROSPECTION_DEPTH) return deepest;
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        deepestIntrospection = 0;
        const depth = depthOf(node.selectionSet, new Set(), maxDepth);
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`query is nested ${depth} levels deep; the limit is ${maxDepth}`, { nodes: [node], extensions: { code: "QUERY_TOO_COMPLEX" } }),
          );
        }
        if (deepestIntrospection > MAX_INTROSPECTION_DEPTH) {
          context.reportError(
            new GraphQLError(`introspection is nested more than ${MAX_INTROSPECTION_DEPTH} levels deep`, { nodes: [node], extensions: { code: "QUERY_TOO_COMPLEX" } }),
          );
        }
      },
    };
  };
}

/** The estimated cost of an operation: each field costs 1, lists multiply by their declared size. */
export function operationComplexity(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined | null): number {
  try {
    return getComplexity({
      schema,
      query: document,
      variables: variables ?? {},
      operationName: operationName ?? undefined,
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (error) {
    // Estimating coerces the variables first, so bad variables surface here, before execution would report them.
    if (error instanceof GraphQLError) throw new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: "BAD_USER_INPUT" } });
    throw error;
  }
}

/**
 * An integer argument as a cost estimator needs it: its value, or its default when absent. A value
 * outside [min, max] is refused here, while the cost is estimated and before anything runs, so no
 * argument (negative, zero, huge) can lower an operation's cost.
 */
export function costArgument(args: Record<string, unknown>, name: string, range: { min: number; max: number; default: number }): number {
  const value = args[name] ?? range.default;
  if (typeof value !== "number" || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new GraphQLError(`${name}: must be an integer from ${range.min} to ${range.max}, got ${String(value)}`, { extensions: { code: "BAD_USER_INPUT", argument: name } });
  }
  return value;
}

export function complexityError(complexity: number, limits: QueryLimits): GraphQLError {
  return new GraphQLError(`query cost ${complexity} exceeds the limit of ${limits.maxComplexity}; ask for fewer items or fields`, {
    extensions: { code: "QUERY_TOO_COMPLEX", complexity, maxComplexity: limits.maxComplexity },
  });
}
