/** The dashboard build checks its GraphQL documents against schema/schema.graphql and fails on an error. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, it } from "node:test";
import { tempDir } from "../helpers/cli.js";

const BUILD_SCRIPT = resolve(__dirname, "../../../scripts/build-web.mjs");
const dir = tempDir("web-documents");
after(() => rmSync(dir, { recursive: true, force: true }));

function check(): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [BUILD_SCRIPT, "--check-documents", dir], { encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

it("accepts documents that match the schema", () => {
  mkdirSync(join(dir, "view"), { recursive: true });
  writeFileSync(join(dir, "view", "good.graphql"), "query Good($id: ID!) { experiment(id: $id) { id name status } }\n");
  const result = check();
  assert.equal(result.status, 0, result.output);
  assert.match(result.output, /1 GraphQL documents \(1 operations\) valid/);
});

it("fails naming the file, line and problem of a field the schema lacks, and of a syntax error", () => {
  writeFileSync(join(dir, "view", "bad.graphql"), "query Bad {\n  experiments { nodes { id nosuchField } }\n}\n");
  writeFileSync(join(dir, "broken.graphql"), "query Broken { experiments {\n");
  const result = check();
  assert.equal(result.status, 1, result.output);
  assert.match(result.output, /bad\.graphql:2:\d+: Cannot query field "nosuchField" on type "Experiment"/);
  assert.match(result.output, /broken\.graphql: Syntax Error/);
});
