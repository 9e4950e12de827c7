import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { braceNesting, MAX_BRACE_NESTING, nestingRefusal } from "../../server/graphql/nesting.js";

describe("braceNesting", () => {
  it("counts braces, brackets and parentheses, but not inside strings, block strings or comments", () => {
    assert.equal(braceNesting(`{ experiments(filter: { ids: ["a"] }) { totalCount } }`), 4);
    assert.equal(braceNesting(`{ a(s: "{{{[[[(((\\"{{{") }`), 2);
    assert.equal(braceNesting(`{ a(s: """ {{{ \\""" {{{ """) }`), 2);
    assert.equal(braceNesting(`{ a # {{{{{{\n b }`), 1);
    assert.equal(braceNesting(`}}}} { a }`), 1, "stray closers never go below zero");
  });

  it("stops counting past its limit, and refuses only what exceeds it", () => {
    assert.equal(braceNesting("{".repeat(100_000), 10), 11);
    assert.equal(nestingRefusal(`${"{".repeat(MAX_BRACE_NESTING)}${"}".repeat(MAX_BRACE_NESTING)}`), null);
    assert.equal(nestingRefusal(`${"{".repeat(MAX_BRACE_NESTING + 1)}`)?.extensions.code, "QUERY_TOO_COMPLEX");
    assert.equal(nestingRefusal(undefined), null, "a missing query is Apollo's to report");
  });
});
