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

/** A validation rule refusing documents nested deeper than `maxDepth` (fragments followed). */
export function depthLimitRule(maxDepth: number): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const depthOf = (selectionSet: SelectionSetNode | undefined, visiting: Set<string>): number => {
      if (!selectionSet) return 0;
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          deepest = Math.max(deepest, selection.name.value.startsWith("__") ? 0 : 1 + depthOf(selection.selectionSet, visiting));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, visiting));
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || visiting.has(name)) continue; // unknown or cyclic fragments are other rules' errors
          visiting.add(name);
          deepest = Math.max(deepest, depthOf(fragment.selectionSet, visiting));
          visiting.delete(name);
        }
        if (deepest > maxDepth) return deepest;
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`query is nested ${depth} levels deep; the limit is ${maxDepth}`, { nodes: [node], extensions: { code: "QUERY_TOO_COMPLEX" } }),
          );
        }
      },
    };
  };
}

/**
 * Brackets (`{`, `[`, `(`) a query text may nest, counted before parsing: graphql-js parses
 * recursively and overflows the stack on a literal nested a few thousand deep, well inside the
 * body limit. Real operations nest a few dozen levels at most.
 */
export const MAX_TEXT_NESTING = 100;

/** Refuses a query text nesting brackets deeper than `maxNesting` (strings and comments skipped), or returns null. */
export function textNestingError(source: string, maxNesting = MAX_TEXT_NESTING): GraphQLError | null {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === "#") {
      while (i < source.length && source[i] !== "\n" && source[i] !== "\r") i++;
    } else if (char === '"') {
      const block = source.startsWith('"""', i);
      i += block ? 3 : 1;
      while (i < source.length && !(block ? source.startsWith('"""', i) : source[i] === '"' || source[i] === "\n")) i += source[i] === "\\" ? 2 : 1;
      if (block) i += 2;
    } else if (char === "{" || char === "[" || char === "(") {
      if (++depth > maxNesting) {
        return new GraphQLError(`query text nests brackets more than ${maxNesting} levels deep`, { extensions: { code: "QUERY_TOO_COMPLEX" } });
      }
    } else if (char === "}" || char === "]" || char === ")") {
      depth--;
    }
  }
  return null;
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
