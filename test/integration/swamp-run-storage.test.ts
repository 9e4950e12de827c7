/**
 * Storage of a run directory (issue 21): models under their cycle's mask, no per-cycle TF.js or
 * sparse copies, `storage.keep` retention, and runs written by earlier versions (dense `.swt`,
 * `average.swsp`, `model/`) resuming to the same results.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encodeWeights } from "../../schema/weights-file.js";
import { RunLayout } from "../../worker/run/run-layout.js";
import { readRunModel, type RunModel } from "../../worker/run/run-models.js";
import { jsonLines, runSwamp, tempDir, writeConfig } from "../helpers/cli.js";

const PARTICLES = 2;
const CYCLES = 3;
const config = (keep?: string) => ({
  name: "storage",
  seed: 3,
  data: { name: "synthetic", trainSubset: 256, testSubset: 128 },
  model: { name: "lenet-300-100" },
  method: { name: "swamp", particles: PARTICLES },
  pruning: { rate: 0.5, cycles: CYCLES },
  training: { epochs: 2, rewindEpochs: 1, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 128 },
  swa: { lr: 0.02, startFraction: 0.5 },
  ...(keep ? { storage: { keep } } : {}),
});
const MODELS: RunModel[] = ["average", ...Array.from({ length: PARTICLES }, (_, p) => p)];

async function run(out: string, keep?: string, extra: string[] = []): Promise<Array<Record<string, unknown>>> {
  // Without inference profiles: their timings differ between any two runs (swamp-run.test compares the rest).
  const result = await runSwamp(["run", "--config", writeConfig(config(keep)), "--out", out, "--json", "--workers", "1", "--no-profile", ...extra]);
  assert.equal(result.code, 0, result.stderr);
  return jsonLines(result.stdout);
}

/** Summaries without wall time and the fields only earlier versions wrote. */
const comparable = (lines: Array<Record<string, unknown>>) => lines.map(({ seconds: _s, sparseWeights: _w, tfjsModel: _t, ...rest }) => rest);

async function sameModel(a: RunLayout, b: RunLayout, cycle: number, model: RunModel): Promise<void> {
  const [x, y] = [await readRunModel(a, cycle, model), await readRunModel(b, cycle, model)];
  assert.deepEqual(x.entries, y.entries);
  x.values.forEach((v, i) => assert.ok(Buffer.from(v.buffer).equals(Buffer.from(y.values[i]!.buffer)), `cycle ${cycle} ${model}: tensor ${i} equal bit for bit`));
}

let straightDir: string;
let straight: Array<Record<string, unknown>>;

test("a pruned cycle stores its models as survivors under the cycle's mask, and nothing per cycle for TF.js", async () => {
  straightDir = join(tempDir("storage-all"), "run");
  straight = await run(straightDir);
  assert.equal(straight.length, CYCLES + 1);
  const layout = new RunLayout(straightDir);
  for (let cycle = 0; cycle <= CYCLES; cycle++) {
    assert.ok(!existsSync(join(layout.cycleDir(cycle), "model")), `cycle ${cycle}: no model/ copy`);
    assert.ok(!existsSync(layout.legacySparseModel(cycle)), `cycle ${cycle}: no average.swsp`);
    for (const model of MODELS) {
      const path = model === "average" ? layout.averageWeights(cycle) : layout.particleWeights(cycle, model);
      assert.equal(readFileSync(path).toString("ascii", 0, 4), cycle === 0 ? "SWT1" : "SWT2", `${path}: dense only while nothing is pruned`);
      const { values } = await readRunModel(layout, cycle, model);
      const dense = encodeWeights(values, values.map((v, i) => ({ name: String(i), shape: [v.length] })));
      if (cycle > 0) assert.ok(statSync(path).size < 0.7 * dense.length, `${path} (${statSync(path).size} B) is smaller than dense (${dense.length} B) at 50% or more pruned`);
    }
  }
  assert.equal(straight[1]!.weights, "cycle-001/average.swt");
});

test("storage.keep: averages drops particles, final keeps one average; results are unchanged", async () => {
  const averagesDir = join(tempDir("storage-averages"), "run");
  const finalDir = join(tempDir("storage-final"), "run");
  assert.deepEqual(comparable(await run(averagesDir, "averages")), comparable(straight));
  assert.deepEqual(comparable(await run(finalDir, "final")), comparable(straight));
  const [averages, final, all] = [new RunLayout(averagesDir), new RunLayout(finalDir), new RunLayout(straightDir)];
  for (let cycle = 0; cycle <= CYCLES; cycle++) {
    for (let p = 0; p < PARTICLES; p++) {
      assert.ok(!existsSync(averages.particleWeights(cycle, p)) && !existsSync(final.particleWeights(cycle, p)), `cycle ${cycle} particle ${p} deleted`);
      assert.ok(existsSync(averages.particleSummary(cycle, p)), "particle summaries stay");
    }
    assert.ok(existsSync(averages.averageWeights(cycle)));
    assert.equal(existsSync(final.averageWeights(cycle)), cycle === CYCLES, `final keeps only the last average (cycle ${cycle})`);
    assert.ok(readFileSync(final.mask(cycle)).equals(readFileSync(all.mask(cycle))), "masks stay");
    await sameModel(averages, all, cycle, "average");
  }
  await sameModel(final, all, CYCLES, "average");

  // A final-only run stopped after cycle 1 (what is left once cycle 2 started) resumes to the same end.
  for (const cycle of [2, 3]) for (const name of readdirSync(final.cycleDir(cycle))) if (!(cycle === 2 && name === "mask.bin")) rmSync(join(final.cycleDir(cycle), name));
  writeFileSync(final.cycles, readFileSync(final.cycles, "utf8").split("\n").slice(0, 2).map((line) => `${line}\n`).join(""));
  const resumed = await run(finalDir, "final", ["--resume"]);
  assert.deepEqual(comparable(resumed), comparable(straight));
  await sameModel(final, all, CYCLES, "average");
});

test("a run directory of an earlier version (dense .swt, average.swsp, model/) resumes to identical results", async () => {
  const oldDir = join(tempDir("storage-old"), "run");
  cpSync(straightDir, oldDir, { recursive: true });
  const old = new RunLayout(oldDir);
  // What earlier versions left after cycle 1 finished and cycle 2's particles did: every model dense, plus the copies.
  for (let cycle = 0; cycle <= 2; cycle++) {
    for (const model of MODELS) {
      if (cycle === 2 && model === "average") continue;
      const { values, entries } = await readRunModel(old, cycle, model);
      writeFileSync(model === "average" ? old.averageWeights(cycle) : old.particleWeights(cycle, model), encodeWeights(values, entries));
    }
    if (cycle < 2) {
      writeFileSync(old.legacySparseModel(cycle), "an average.swsp of an earlier version");
      cpSync(join(oldDir, "config.json"), old.legacyTfjsModelJson(cycle));
    }
  }
  for (const name of ["average.swt", "cycle.json"]) rmSync(join(old.cycleDir(2), name));
  rmSync(old.cycleDir(3), { recursive: true });
  const legacy = (line: Record<string, unknown>) => ({ ...line, sparseWeights: `cycle-00${line.cycle}/average.swsp`, tfjsModel: `cycle-00${line.cycle}/model/model.json` });
  writeFileSync(old.cycles, straight.slice(0, 2).map((line) => `${JSON.stringify(legacy(line))}\n`).join(""));
  for (const cycle of [0, 1]) writeFileSync(old.cycleSummary(cycle), JSON.stringify(legacy(straight[cycle]!)));
  writeFileSync(old.config, JSON.stringify(JSON.parse(readFileSync(old.config, "utf8")), (key, value) => (key === "storage" ? undefined : value)));

  const resumed = await run(oldDir, undefined, ["--resume"]);
  assert.deepEqual(comparable(resumed), comparable(straight));
  const all = new RunLayout(straightDir);
  for (let cycle = 0; cycle <= CYCLES; cycle++) {
    assert.ok(readFileSync(old.mask(cycle)).equals(readFileSync(all.mask(cycle))), `cycle ${cycle} mask equal`);
    for (const model of MODELS) await sameModel(old, all, cycle, model);
  }
  assert.equal(readFileSync(old.particleWeights(2, 0)).toString("ascii", 0, 4), "SWT1", "the dense particles of the earlier version were reused, not retrained");
});
