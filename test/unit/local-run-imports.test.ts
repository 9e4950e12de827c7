import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { test } from "node:test";

test("swamp run's main thread, which reads only the kinds' hooks, loads no TensorFlow.js (handlers load on the task threads)", () => {
  const modules = JSON.parse(
    execFileSync(process.execPath, ["-e", `require(${JSON.stringify(resolve(__dirname, "../../cli/commands/run.js"))}); console.log(JSON.stringify(Object.keys(require.cache)))`], { encoding: "utf8" }),
  ) as string[];
  assert.ok(modules.some((path) => path.endsWith("worker/tasks/registry.js")), "the registry of task kinds is loaded");
  assert.deepEqual(modules.filter((path) => path.includes("@tensorflow")), []);
});
