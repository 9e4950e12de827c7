import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphQLError } from "graphql";
import { CheckedDocuments } from "../../server/startup/checked-documents.js";

describe("checked WebSocket documents", () => {
  it("parse and validate a source once however many subscribe with it, keeping its errors", () => {
    let validations = 0;
    const checked = new CheckedDocuments((document) => {
      validations++;
      return document.definitions.length > 1 ? [new GraphQLError("two operations")] : [];
    });
    const first = checked.get("subscription { a }");
    for (let n = 0; n < 1_000; n++) assert.equal(checked.get("subscription { a }"), first);
    assert.equal(validations, 1);
    assert.deepEqual(first?.errors, []);
    assert.equal(checked.get("query { a } query B { b }")?.errors[0]?.message, "two operations");
    assert.equal(checked.get("subscription {"), null, "a syntax error is left to graphql-ws to report");
  });

  it("keep only the most recently used sources, and none too long", () => {
    let validations = 0;
    const checked = new CheckedDocuments(() => (validations++, []), 2, 100);
    checked.get("{ a }");
    checked.get("{ b }");
    checked.get("{ a }"); // now the most recent
    checked.get("{ c }"); // evicts { b }
    assert.equal(validations, 3);
    checked.get("{ a }");
    assert.equal(validations, 3, "{ a } was kept");
    checked.get("{ b }");
    assert.equal(validations, 4, "{ b } was evicted");
    const long = `{ a ${"b ".repeat(100)}}`;
    checked.get(long);
    checked.get(long);
    assert.equal(validations, 6, "a source past the length limit is checked each time");
  });
});
