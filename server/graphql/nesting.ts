import type { GraphQLError } from "graphql";
import { clientError } from "./errors.js";

/**
 * graphql-js parses recursively: a document nested a few thousand braces deep overflows the stack
 * while parsing, before any validation rule can refuse it. The nesting is therefore measured on the
 * source text first, skipping strings, block strings and comments.
 */
export const MAX_BRACE_NESTING = 128;

/** The deepest `{`/`[`/`(` nesting of a GraphQL source, counting stops once past `limit`. */
export function braceNesting(source: string, limit: number = MAX_BRACE_NESTING): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "#") {
      while (i < source.length && source[i] !== "\n" && source[i] !== "\r") i++;
    } else if (c === '"') {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        // Escaped triple quotes (\""") inside a block string do not end it.
        let close = end;
        while (close > 0 && source[close - 1] === "\\") close = source.indexOf('"""', close + 3);
        i = close < 0 ? source.length : close + 2;
      } else {
        for (i++; i < source.length && source[i] !== '"' && source[i] !== "\n"; i++) if (source[i] === "\\") i++;
      }
    } else if (c === "{" || c === "[" || c === "(") {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === "}" || c === "]" || c === ")") {
      depth = Math.max(0, depth - 1);
    }
  }
  return deepest;
}

/** A refusal for a source nested too deeply to parse safely, or null. */
export function nestingRefusal(source: unknown): GraphQLError | null {
  if (typeof source !== "string" || braceNesting(source) <= MAX_BRACE_NESTING) return null;
  return clientError("QUERY_TOO_COMPLEX", `the document is nested more than ${MAX_BRACE_NESTING} levels deep`);
}
