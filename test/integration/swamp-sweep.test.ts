import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { runSwamp, tempDir } from "../helpers/cli.js";
import { startTestServer, type TestServer } from "../server/support/test-server.js";

const base = {
  name: "tiny",
  data: { name: "synthetic", trainSubset: 128, testSubset: 64 },
  model: { name: "lenet-300-100" },
  method: { name: "imp" },
  pruning: { cycles: 1 },
  training: { epochs: 1, rewindEpochs: 0, batchSize: 64, bnRecalibrationExamples: 128 },
};

let dir: string;
let t: TestServer;

function write(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

before(async () => {
  dir = tempDir("sweep");
  t = await startTestServer({}, "cli-sweep");
});
after(async () => {
  await t.close();
});

it("runs each grid point locally, then on a second call skips the finished ones and runs only the new", async () => {
  const config = write("base.json", base);
  const out = join(dir, "runs");
  const first = await runSwamp(["sweep", "--config", config, "--grid", write("grid1.json", { seed: [0] }), "--out", out, "--workers", "1"]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^0\s+tiny-0\s+seed=0\s+completed\s+20\.0%/m);
  const second = await runSwamp(["sweep", "--config", config, "--grid", write("grid2.json", { seed: [0, 1] }), "--out", out, "--workers", "1"]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^0\s+tiny-0\s+seed=0\s+skipped \(complete\)/m);
  assert.match(second.stdout, /^1\s+tiny-1\s+seed=1\s+completed\s+20\.0%/m);
  const runDir = /^1\s+tiny-1.*?(\S+)$/m.exec(second.stdout)![1]!;
  assert.ok(existsSync(join(runDir, "config.json")), `${runDir} holds the run`);
});

it("reports an invalid grid point with its field path and runs nothing", async () => {
  const out = join(dir, "bad-runs");
  const result = await runSwamp(["sweep", "--config", write("base2.json", base), "--grid", write("bad.json", { "training.batchSize": [64, 0] }), "--out", out]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /points\.1\.training\.batchSize: .*grid point 1 \{"training\.batchSize":0\}/);
  assert.equal(existsSync(out), false);
});

it("with --server, creates the sweep there and prints its id and the experiment ids", async () => {
  const result = await runSwamp(["sweep", "--config", write("base3.json", base), "--grid", write("grid3.json", { seed: [0, 1, 2] }), "--name", "remote", "--tags", "cli", "--server", t.server.baseUrl, "--token", t.adminToken]);
  assert.equal(result.code, 0, result.stderr);
  const [header, ...ids] = result.stdout.trim().split("\n");
  const sweepId = /^sweep (\S+) \(3 experiments\)$/.exec(header!)![1];
  const stored = await t.gql(`query($id: ID!) { sweep(id: $id) { name tags experimentIds } }`, { id: sweepId });
  assert.deepEqual(stored.data!.sweep, { name: "remote", tags: ["cli"], experimentIds: ids });
  const refused = await runSwamp(["sweep", "--config", write("base4.json", base), "--grid", write("grid4.json", { seed: [] }), "--server", t.server.baseUrl, "--token", t.adminToken]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /grid\.seed: must list at least one value/);
});
