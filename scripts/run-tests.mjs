// Runs every compiled test file under dist/test with node's test runner.
// Node 20's `node --test` takes no globs, so the files are listed here; a filter argument narrows them.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function testFiles(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return testFiles(path);
    return path.endsWith(".test.js") ? [path] : [];
  }).sort();
}

const filter = process.argv[2];
const files = testFiles("dist/test").filter((f) => !filter || f.includes(filter));
if (files.length === 0) {
  console.error(`no test files under dist/test${filter ? ` matching ${filter}` : ""}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
