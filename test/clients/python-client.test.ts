/**
 * The Python client (clients/python) against a live `swamp up` with workers: its unittest suite
 * runs twice, with pandas and with SWAMP_CLIENT_NO_PANDAS=1 (tables as lists of dicts), on
 * Debian's python3 with numpy, pandas and websockets.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { tempDir } from "../helpers/cli.js";
import { PYTHON } from "../helpers/python.js";
import { TEST_ADMIN_DATABASE_URL } from "../server/support/test-server.js";
import { startUp, type Up } from "../fleet/support/up-process.js";

const CLIENT_DIR = resolve(__dirname, "../../../clients/python");
const cleanups: Array<() => Promise<void> | void> = [];
let up: Up;

before(async () => {
  const home = tempDir("py-client");
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "py_client");
  cleanups.push(() => database.drop());
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  up = await startUp(["--workers", "2", "--no-defaults"], { SWAMP_HOME: home, DATABASE_URL: database.url }, cleanups);
});
after(async () => {
  if (up) await up.interrupt();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function runPython(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    execFile(PYTHON, args, { cwd: CLIENT_DIR, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolveRun({ code, output: `${stdout}${stderr}` });
    });
  });
}

for (const pass of [{ name: "with pandas", env: {} }, { name: "without pandas (lists of dicts)", env: { SWAMP_CLIENT_NO_PANDAS: "1" } }]) {
  test(`the Python client's unittest suite passes against swamp up, ${pass.name}`, async () => {
    const result = await runPython(["-m", "unittest", "discover", "-v", "-s", "tests", "-t", "."], { SWAMP_URL: up.url, SWAMP_TOKEN: up.token, ...pass.env });
    console.log(result.output);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /^Ran \d+ tests/m);
  });
}
