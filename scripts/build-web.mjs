#!/usr/bin/env node
/**
 * Builds the web dashboard (web/) into dist/web: checks every GraphQL document under web/src
 * against schema/schema.graphql (graphql-js validate; an error fails the build), type-checks the
 * app (tsc -p web), bundles it with esbuild, and reports the bundle's size.
 *
 *   node scripts/build-web.mjs
 *   node scripts/build-web.mjs --check-documents DIR   only check the .graphql documents under DIR
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const sourceDir = join(root, "web", "src");
const outDir = join(root, "dist", "web");

function filesUnder(dir, suffix) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, suffix);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

/** Every .graphql document under `dir` parses and validates against the printed schema. */
function checkDocuments(dir) {
  const { buildSchema, parse, validate, Source } = require("graphql");
  const schema = buildSchema(readFileSync(join(root, "schema", "schema.graphql"), "utf8"));
  const failures = [];
  const documents = filesUnder(dir, ".graphql");
  let operations = 0;
  for (const file of documents) {
    const name = relative(root, file);
    try {
      const document = parse(new Source(readFileSync(file, "utf8"), name));
      operations += document.definitions.filter((d) => d.kind === "OperationDefinition").length;
      for (const error of validate(schema, document)) {
        const at = error.locations?.[0];
        failures.push(`${name}${at ? `:${at.line}:${at.column}` : ""}: ${error.message}`);
      }
    } catch (error) {
      failures.push(`${name}: ${error.message}`);
    }
  }
  if (failures.length > 0) {
    console.error(`GraphQL documents do not match schema/schema.graphql:\n  ${failures.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`web: ${documents.length} GraphQL documents (${operations} operations) valid against schema/schema.graphql`);
}

function typeCheck() {
  try {
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(root, "web")], { stdio: "inherit" });
  } catch {
    console.error("web: type errors (tsc -p web)");
    process.exit(1);
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>swamp</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/assets/app.css">
</head>
<body>
  <div id="app"></div>
  <script type="module" src="/assets/app.js"></script>
</body>
</html>
`;

async function bundle() {
  const esbuild = require("esbuild");
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, "assets"), { recursive: true });
  await esbuild.build({
    entryPoints: { app: join(sourceDir, "main.tsx") },
    outdir: join(outDir, "assets"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    loader: { ".graphql": "text" },
    legalComments: "none",
    logLevel: "warning",
  });
  writeFileSync(join(outDir, "index.html"), PAGE);
  let raw = 0;
  let gzip = 0;
  const parts = [];
  for (const name of ["app.js", "app.css"]) {
    const content = readFileSync(join(outDir, "assets", name));
    raw += content.length;
    gzip += gzipSync(content).length;
    parts.push(`${name} ${(content.length / 1024).toFixed(1)} KiB`);
  }
  console.log(`web: bundle ${(raw / 1024).toFixed(1)} KiB (${(gzip / 1024).toFixed(1)} KiB gzipped): ${parts.join(", ")} → ${relative(root, outDir)}/`);
}

const only = process.argv.indexOf("--check-documents");
if (only !== -1) {
  checkDocuments(process.argv[only + 1] ?? sourceDir);
} else {
  checkDocuments(sourceDir);
  typeCheck();
  await bundle();
}
