/**
 * Prints the GraphQL schema to schema/schema.graphql (checked in, so clients and reviewers see
 * the API without running the server). A test fails when the file is stale:
 *
 *   npx tsc -p . && node dist/server/tools/print-schema.js
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { printSwampSchema } from "../graphql/print-schema.js";

export const SCHEMA_FILE = resolve(__dirname, "../../../schema/schema.graphql");

printSwampSchema().then(
  (text) => {
    writeFileSync(SCHEMA_FILE, text);
    console.log(`wrote ${SCHEMA_FILE}`);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
