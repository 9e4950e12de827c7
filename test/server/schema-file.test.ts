import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { it } from "node:test";
import { printSwampSchema } from "../../server/graphql/print-schema.js";

it("schema/schema.graphql is the printed schema (regenerate: node dist/server/tools/print-schema.js)", async () => {
  const file = resolve(__dirname, "../../../schema/schema.graphql");
  const checkedIn = readFileSync(file, "utf8");
  const printed = await printSwampSchema();
  assert.ok(checkedIn === printed, `schema/schema.graphql is stale: run \`npx tsc -p . && node dist/server/tools/print-schema.js\` and commit it`);
  for (const field of ["experiments(", "createExperiment(config: JSONObject!): Experiment!", "experimentUpdated(id: ID!)", "cycleCompleted(experimentId: ID!)"]) {
    assert.ok(printed.includes(field), `the schema has ${field}`);
  }
});
