import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_TEXT_NESTING, textNestingError } from "../../server/graphql/limits.js";

const nested = (depth: number) => `${"{".repeat(depth)}${"}".repeat(depth)}`;

test("a query text may nest brackets up to the limit, not beyond", () => {
  assert.equal(textNestingError(nested(MAX_TEXT_NESTING)), null);
  assert.match(textNestingError(nested(MAX_TEXT_NESTING + 1))!.message, /nests brackets more than 100 levels deep/);
  assert.equal(textNestingError(nested(MAX_TEXT_NESTING + 1))!.extensions.code, "QUERY_TOO_COMPLEX");
  // Two selections, an argument list and 98 lists: 101 levels.
  assert.notEqual(textNestingError(`{ a { b(x: ${"[".repeat(98)}${"]".repeat(98)}) } }`), null, "lists, arguments and selections count together");
  assert.equal(textNestingError(`{ a { b(x: ${"[".repeat(97)}${"]".repeat(97)}) } }`), null);
});

test("brackets inside strings, block strings and comments do not count", () => {
  const many = "{".repeat(500);
  assert.equal(textNestingError(`{ a(name: "${many} \\" ${many}") }`), null);
  assert.equal(textNestingError(`{ a(text: """${many} \\""" ${many}""") }`), null);
  assert.equal(textNestingError(`# ${many}\n{ a }`), null);
  assert.notEqual(textNestingError(`{ a(name: "x") ${"{".repeat(MAX_TEXT_NESTING)} }`), null, "counting resumes after a string");
});
