import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { jsonLines, runSwamp, startSwamp, tempDir, writeConfig } from "../helpers/cli.js";
import { INFERENCE_TIMING_FIELDS, inferenceProfileSchema } from "../../schema/inference-profile.js";

/** A cycle line without what is measured in time, which varies between runs of the same model. */
function withoutTimings({ seconds: _s, inference, ...rest }: Record<string, unknown>): Record<string, unknown> {
  if (inference === undefined) return rest;
  const profile = { ...(inference as Record<string, unknown>) };
  for (const field of INFERENCE_TIMING_FIELDS) delete profile[field];
  return { ...rest, inference: profile };
}

const tiny = (method: string, particles: number) => ({
  name: `smoke-${method}`,
  seed: 1,
  data: { name: "synthetic", trainSubset: 256, testSubset: 128 },
  model: { name: "lenet-300-100" },
  method: { name: method, particles },
  pruning: { rate: 0.2, cycles: 1 },
  training: { epochs: 2, rewindEpochs: 1, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 128 },
  swa: { lr: 0.02, startFraction: 0.5 },
});

for (const [method, particles] of [["imp", 1], ["imp-swa", 1], ["swamp", 2], ["swamp-sgd", 2]] as const) {
  test(`swamp run --json: a synthetic smoke run of ${method}`, async () => {
    const out = join(tempDir(method), "run");
    const result = await runSwamp(["run", "--config", writeConfig(tiny(method, particles)), "--out", out, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const lines = jsonLines(result.stdout);
    assert.equal(lines.length, 2, "one JSON object per cycle and nothing else on stdout");
    for (const [i, line] of lines.entries()) {
      for (const key of ["cycle", "sparsity", "accuracy", "loss", "particleAccuracies", "seconds"]) assert.ok(key in line, `missing ${key}`);
      assert.equal(line.cycle, i);
      assert.equal((line.particleAccuracies as number[]).length, particles);
      const profile = inferenceProfileSchema.parse(line.inference);
      assert.equal(profile.parameters, (line.alive as number) + 410, "kept weights plus lenet-300-100's 410 biases");
      // The compact file holds survivors only (swamp-export.test checks its bytes): smaller than dense once pruned.
      if (i > 0) assert.ok(profile.sparseBytes < profile.denseBytes, `sparse ${profile.sparseBytes} < dense ${profile.denseBytes}`);
      assert.equal(profile.denseBytes, 4 * ((line.total as number) + 410));
    }
    assert.equal(lines[0]!.sparsity, 0);
    assert.ok(Math.abs((lines[1]!.sparsity as number) - 0.2) < 1e-3);
    assert.ok((lines[1]!.accuracy as number) > 0.3, `accuracy ${lines[1]!.accuracy}`);
    for (const file of ["config.json", "run.json", "metrics.jsonl", "cycles.jsonl", "rewind.swt", "cycle-000/mask.bin", "cycle-001/mask.bin", "cycle-001/average.swt", "cycle-001/particle-0.swt"]) {
      assert.ok(existsSync(join(out, file)), `${file} is written`);
    }
    const metrics = jsonLines(readFileSync(join(out, "metrics.jsonl"), "utf8"));
    assert.ok(metrics.some((m) => m.key === "train/epoch-loss" && m.particle === particles - 1 && m.cycle === 1));
  });
}

test("--resume after an interrupt gives the same result as an uninterrupted run", async () => {
  const config = writeConfig({ ...tiny("swamp", 2), pruning: { rate: 0.3, cycles: 3 } });
  const straight = join(tempDir("straight"), "run");
  const uninterrupted = await runSwamp(["run", "--config", config, "--out", straight, "--json", "--workers", "1"]);
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);

  const resumed = join(tempDir("resumed"), "run");
  const first = startSwamp(["run", "--config", config, "--out", resumed, "--json", "--workers", "1"]);
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      if (chunk.toString().includes("\n")) {
        first.child.stdout!.off("data", onData);
        first.child.kill("SIGINT");
        resolve();
      }
    };
    first.child.stdout!.on("data", onData);
  });
  const stopped = await first.done;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /--resume/);
  assert.ok(!existsSync(join(resumed, "cycle-003/cycle.json")), "the run was stopped before its end");

  const again = await runSwamp(["run", "--config", config, "--out", resumed, "--json"]);
  assert.match(again.stderr, /already holds a run; pass --resume/);
  assert.equal(again.code, 2);

  const finished = await runSwamp(["run", "--config", config, "--out", resumed, "--json", "--resume"]);
  assert.equal(finished.code, 0, finished.stderr);
  const strip = (lines: Array<Record<string, unknown>>) => lines.map(withoutTimings);
  assert.deepEqual(strip(jsonLines(finished.stdout)), strip(jsonLines(uninterrupted.stdout)));
  for (let cycle = 0; cycle <= 3; cycle++) {
    const mask = `cycle-00${cycle}/mask.bin`;
    assert.ok(readFileSync(join(resumed, mask)).equals(readFileSync(join(straight, mask))), `${mask} equal`);
  }
  const keyOf = (m: Record<string, unknown>) => `${m.task}|${m.key}|${m.step}`;
  const resumedMetrics = jsonLines(readFileSync(join(resumed, "metrics.jsonl"), "utf8")).map(keyOf).sort();
  const straightMetrics = jsonLines(readFileSync(join(straight, "metrics.jsonl"), "utf8")).map(keyOf).sort();
  assert.deepEqual(resumedMetrics, straightMetrics, "no metric is lost or duplicated by the resume");
});

test("two task threads (the aggregate's inference profile on the second) give the cycle lines, masks and models of one", async () => {
  const config = writeConfig(tiny("swamp", 2));
  const runs = await Promise.all(
    ["1", "2"].map(async (workers) => {
      const out = join(tempDir(`threads-${workers}`), "run");
      const result = await runSwamp(["run", "--config", config, "--out", out, "--json", "--workers", workers]);
      assert.equal(result.code, 0, result.stderr);
      return { out, lines: jsonLines(result.stdout) };
    }),
  );
  const [one, two] = runs as [(typeof runs)[0], (typeof runs)[0]];
  assert.equal(two.lines.length, 2);
  for (const line of two.lines) inferenceProfileSchema.parse(line.inference);
  assert.deepEqual(two.lines.map(withoutTimings), one.lines.map(withoutTimings));
  for (const file of ["cycle-001/mask.bin", "cycle-000/average.swt", "cycle-001/average.swt"]) {
    assert.ok(readFileSync(join(two.out, file)).equals(readFileSync(join(one.out, file))), `${file} equal`);
  }
});

test("bad configs and bad data files give clear errors and exit code 2", async () => {
  const missing = await runSwamp(["run", "--config", "/nonexistent/c.json"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\/nonexistent\/c.json: no such file/);

  const dir = tempDir("bad");
  const badJsonPath = join(dir, "bad.json");
  writeFileSync(badJsonPath, "{ not json");
  const badJson = await runSwamp(["run", "--config", badJsonPath]);
  assert.equal(badJson.code, 2);
  assert.match(badJson.stderr, /bad.json: not valid JSON/);

  const invalid = await runSwamp(["run", "--config", writeConfig({ ...tiny("swamp", 2), training: { lr: "fast", epochs: 0 } })]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /training.lr: Expected number, received string/);
  assert.match(invalid.stderr, /training.epochs: Number must be greater than 0/);

  const noData = await runSwamp(["run", "--config", writeConfig({ ...tiny("imp", 1), data: { name: "fashion-mnist", dir: dir } }), "--out", join(dir, "run")]);
  assert.equal(noData.code, 2);
  assert.match(noData.stderr, new RegExp(`${dir}/train-images-idx3-ubyte.*(missing|not found|no such)`, "i"));

  const usage = await runSwamp(["run"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--config is required/);
});

test("--no-profile leaves the inference profile out of every cycle line and cycles.jsonl", async () => {
  const out = join(tempDir("no-profile"), "run");
  const result = await runSwamp(["run", "--config", writeConfig(tiny("imp", 1)), "--out", out, "--json", "--no-profile"]);
  assert.equal(result.code, 0, result.stderr);
  const lines = jsonLines(result.stdout);
  assert.equal(lines.length, 2);
  for (const line of [...lines, ...jsonLines(readFileSync(join(out, "cycles.jsonl"), "utf8"))]) assert.ok(!("inference" in line), "no inference key");
  const help = await runSwamp(["run", "--help"]);
  assert.match(help.stdout, /--no-profile/);
});
