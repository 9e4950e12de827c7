/** `swamp analyze` as a user runs it, on two tiny runs of the synthetic data set (a SWAMP run and an IMP run). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { jsonLines, runSwamp, tempDir, writeConfig } from "../helpers/cli.js";
import { runAnalysis } from "../../worker/analyses/registry.js";
import { openRunDirectory } from "../../worker/analyses/run-directory-models.js";

const tiny = (method: string, particles: number) => ({
  name: `analyze-${method}`,
  seed: method === "imp" ? 2 : 1,
  data: { name: "synthetic", trainSubset: 256, testSubset: 128 },
  model: { name: "lenet-300-100" },
  method: { name: method, particles },
  pruning: { rate: 0.2, cycles: 2 },
  training: { epochs: 2, rewindEpochs: 1, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 128 },
  swa: { lr: 0.02, startFraction: 0.5 },
});

let swampRun = "";
let impRun = "";

before(async () => {
  swampRun = join(tempDir("analyze-swamp"), "run");
  impRun = join(tempDir("analyze-imp"), "run");
  for (const [out, config] of [[swampRun, tiny("swamp", 3)], [impRun, tiny("imp", 1)]] as const) {
    const result = await runSwamp(["run", "--config", writeConfig(config), "--out", out, "--json", "--workers", "1"]);
    assert.equal(result.code, 0, result.stderr);
  }
});

const analyze = async (args: string[]) => {
  const result = await runSwamp(["analyze", ...args]);
  return { ...result, lines: result.code === 0 && args.includes("--json") ? jsonLines(result.stdout) : [] };
};
const cycleSummary = (run: string, cycle: number) => jsonLines(readFileSync(join(run, "cycles.jsonl"), "utf8"))[cycle]!;
const particleSummary = (run: string, cycle: number, particle: number) => JSON.parse(readFileSync(join(run, `cycle-00${cycle}/particle-${particle}.json`), "utf8")) as { accuracy: number; loss: number };
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test("interpolate --pairs particles: one JSON line per pair, ends equal to the stored particles, barrier from the curve", async () => {
  const result = await analyze(["interpolate", swampRun, "--cycle", "1", "--points", "5", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.lines.length, 3, "3 particles make 3 pairs");
  for (const line of result.lines) {
    for (const key of ["a", "b", "alphas", "trainLoss", "testLoss", "testAccuracy", "barrier"]) assert.ok(key in line, `missing ${key}`);
    assert.deepEqual(line.alphas, [0, 0.25, 0.5, 0.75, 1]);
    const trainLoss = line.trainLoss as number[];
    const alphas = line.alphas as number[];
    const barrier = Math.max(...alphas.map((a, i) => trainLoss[i]! - ((1 - a) * trainLoss[0]! + a * trainLoss[4]!)));
    assert.equal(line.barrier, barrier);
  }
  const [p, q] = [/particle:(\d)/.exec(result.lines[0]!.a as string)![1], /particle:(\d)/.exec(result.lines[0]!.b as string)![1]];
  for (const [particle, index] of [[Number(p), 0], [Number(q), 4]] as const) {
    const stored = particleSummary(swampRun, 1, particle);
    assert.equal((result.lines[0]!.testAccuracy as number[])[index], stored.accuracy, `particle ${particle} accuracy at the end of the segment`);
    close((result.lines[0]!.testLoss as number[])[index]!, stored.loss, `particle ${particle} loss`);
  }
});

test("interpolate --pairs average ends at the stored averaged model; --pairs cycles applies the later mask", async () => {
  const average = await analyze(["interpolate", swampRun, "--cycle", "2", "--pairs", "average", "--points", "3", "--json"]);
  assert.equal(average.code, 0, average.stderr);
  assert.equal(average.lines.length, 3);
  const stored = cycleSummary(swampRun, 2);
  for (const line of average.lines) {
    assert.match(line.b as string, /cycle 2 average$/);
    assert.equal((line.testAccuracy as number[])[2], stored.accuracy);
    close((line.testLoss as number[])[2]!, stored.loss as number, "average loss");
  }
  const cycles = await analyze(["interpolate", swampRun, "--cycle", "2", "--pairs", "cycles", "--points", "3", "--json"]);
  assert.equal(cycles.code, 0, cycles.stderr);
  assert.equal(cycles.lines.length, 1);
  assert.match(cycles.lines[0]!.a as string, /cycle 1 average$/);
  assert.equal(cycles.lines[0]!.mask, "intersection");
  assert.equal((cycles.lines[0]!.testAccuracy as number[])[2], stored.accuracy);
});

test("interpolate swamp-vs-imp needs an explicit union or intersection when the masks differ", async () => {
  const same = await analyze(["interpolate", swampRun, impRun, "--cycle", "1", "--pairs", "swamp-vs-imp", "--json"]);
  assert.equal(same.code, 2);
  assert.match(same.stderr, /different masks; choose mask "union" or "intersection"/);
  const union = await analyze(["interpolate", swampRun, impRun, "--cycle", "1", "--pairs", "swamp-vs-imp", "--mask", "union", "--points", "3", "--json"]);
  assert.equal(union.code, 0, union.stderr);
  assert.equal(union.lines.length, 1);
  assert.equal(union.lines[0]!.mask, "union");
});

test("plane: G×G grids, the origin at (0, 0), the second model on the x axis", async () => {
  const result = await analyze(["plane", swampRun, "--cycle", "1", "--grid", "3", "--train-examples", "128", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const plane = result.lines[0]!;
  const points = plane.points as number[][];
  assert.deepEqual(points[0], [0, 0]);
  assert.equal(points[1]![1], 0);
  assert.ok(points[1]![0]! > 0 && points[2]![1]! > 0);
  for (const key of ["trainLoss", "testAccuracy"]) {
    const grid = plane[key] as number[][];
    assert.equal(grid.length, 3);
    for (const row of grid) assert.equal(row.length, 3);
  }
  assert.equal(plane.trainExamples, 128);
  assert.deepEqual((plane.basis as { models: string[] }).models.map((m) => m.split(" ").pop()), ["particle:0", "particle:1", "average"]);
});

test("plane: the grid is the same computed in one thread or shared among three", async () => {
  const source = await openRunDirectory(swampRun);
  const input = { cycle: 2, grid: 4, trainExamples: 64, testExamples: 64, models: ["particle:2", "average", "particle:0"] };
  const fractions: number[] = [];
  const alone = await runAnalysis("plane", input, [source], { threads: 1 });
  const shared = await runAnalysis("plane", input, [source], { threads: 3, onProgress: (f) => fractions.push(f) });
  assert.deepEqual(shared, alone);
  assert.equal(fractions.length, 17, "one progress report per point and one at the end");
  assert.equal(fractions.at(-1), 1);
});

test("runAnalysis reports rising progress up to 1 and stops when asked", async () => {
  const source = await openRunDirectory(swampRun);
  const fractions: number[] = [];
  const result = await runAnalysis("interpolate", { cycle: 1, pairs: "average", points: 3 }, [source], { onProgress: (f) => fractions.push(f) });
  assert.equal(result.pairs.length, 3);
  assert.ok(fractions.every((f, i) => f > 0 && f <= 1 && (i === 0 || f >= fractions[i - 1]!)), fractions.join(", "));
  assert.equal(fractions.at(-1), 1);
  await assert.rejects(runAnalysis("flatness", { cycle: 1, probes: 50 }, [source], { signal: { aborted: true } }), { name: "AnalysisStopped" });
  await assert.rejects(runAnalysis("interpolate", { cycle: 1, pairs: "swamp-vs-imp" }, [source]), /needs 2 sources \(the SWAMP run, then the IMP run\), got 1/);
});

test("flatness: the fields of the issue, deterministic from the seed", async () => {
  const args = ["flatness", swampRun, "--cycle", "1", "--model", "particle:1", "--probes", "4", "--power-iterations", "3", "--sharpness-samples", "2", "--examples", "128", "--json"];
  const first = await analyze(args);
  assert.equal(first.code, 0, first.stderr);
  const result = first.lines[0]!;
  for (const key of ["trace", "traceStdErr", "probes", "topEigenvalue", "sharpness"]) assert.equal(typeof result[key], "number", key);
  assert.equal(result.probes, 4);
  assert.ok((result.topEigenvalue as number) > 0);
  assert.match(result.model as string, /particle:1$/);
  const second = await analyze(args);
  assert.equal(second.stdout, first.stdout);
});

test("ensemble: the particles of a cycle, with the averaged model of cycles.jsonl; runs with different masks have no averaged model", async () => {
  const particles = await analyze(["ensemble", swampRun, "--cycle", "1", "--members", "particles", "--json"]);
  assert.equal(particles.code, 0, particles.stderr);
  const result = particles.lines[0]!;
  assert.equal((result.members as string[]).length, 3);
  assert.equal(result.averagedWeightsAccuracy, cycleSummary(swampRun, 1).accuracy);
  const stored = [0, 1, 2].map((p) => particleSummary(swampRun, 1, p).accuracy);
  assert.deepEqual(result.memberAccuracies, stored);
  const runs = await analyze(["ensemble", swampRun, impRun, "--cycle", "1", "--json"]);
  assert.equal(runs.code, 0, runs.stderr);
  assert.equal(runs.lines[0]!.averagedWeightsAccuracy, null);
  assert.deepEqual(runs.lines[0]!.memberAccuracies, [cycleSummary(swampRun, 1).accuracy, cycleSummary(impRun, 1).accuracy]);
});

test("mask-overlap: two cycles of one run (nested masks) and one cycle of two runs", async () => {
  const cycles = await analyze(["mask-overlap", swampRun, "--cycles", "1,2", "--json"]);
  assert.equal(cycles.code, 0, cycles.stderr);
  const nested = cycles.lines[0]!;
  assert.equal(nested.intersection, nested.aliveB, "the later mask lies inside the earlier one");
  assert.equal(nested.hamming, (nested.aliveA as number) - (nested.aliveB as number));
  assert.deepEqual((nested.layers as Array<{ layer: string }>).map((l) => l.layer), ["fc1", "fc2", "fc3"]);
  assert.equal(nested.aliveB, cycleSummary(swampRun, 2).alive);
  const runs = await analyze(["mask-overlap", swampRun, impRun, "--cycle", "1", "--json"]);
  assert.equal(runs.code, 0, runs.stderr);
  assert.ok((runs.lines[0]!.jaccard as number) < 1);
  const table = await analyze(["mask-overlap", swampRun, impRun, "--cycle", "1"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^layer\s+jaccard\s+hamming/m);
});

test("bad flags exit 2 with a message naming the flag", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["flatness", swampRun, "--cycle", "1", "--points", "3"], /--points does not apply to flatness/],
    [["interpolate", swampRun, "--cycle", "1", "--points", "1"], /--points: /],
    [["interpolate", swampRun, "--cycle", "1", "--points", "many"], /--points must be a number, got "many"/],
    [["interpolate", swampRun, "--cycle", "1", "--pairs", "neighbours"], /--pairs: must be one of/],
    [["flatness", swampRun, "--cycle", "1", "--model", "particle:9"], /no particle 9; the run trains 3 particle/],
    [["plane", swampRun], /plane needs --cycle N/],
    [["plane", swampRun, "--cycle", "7"], /cycle 7 particle 0 is not stored/],
    [["flatness", swampRun, "--cycle", "7"], /cycle 7 is not finished/],
    [["ensemble", swampRun, "--cycle", "1", "--colour", "red"], /Unknown option '--colour'/],
    [["mask-overlap", swampRun, "--cycle", "1"], /--cycle N compares two runs/],
    [["sharpen", swampRun], /unknown analysis "sharpen"/],
    [["interpolate", impRun, "--cycle", "1"], /trains 1 particle per cycle; interpolation needs two/],
    [["plane", swampRun, "--cycle", "1", "--models", "average,particle:0"], /--models: /],
    [["interpolate", join(swampRun, "missing"), "--cycle", "1"], /is not a swamp run directory/],
  ];
  for (const [args, message] of cases) {
    const result = await analyze(args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(" "));
    assert.equal(result.stdout, "");
  }
});

test("BatchNorm models: the segment ends keep the stored statistics, the particles' averaged weights reproduce the run's averaged model", async () => {
  const out = join(tempDir("analyze-bn"), "run");
  const config = { ...tiny("swamp", 2), name: "analyze-bn", data: { name: "synthetic", trainSubset: 128, testSubset: 64 }, model: { name: "conv-2", batchNorm: true }, pruning: { rate: 0.2, cycles: 1 }, training: { epochs: 1, rewindEpochs: 0, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 128 } };
  const trained = await runSwamp(["run", "--config", writeConfig(config), "--out", out, "--json", "--workers", "1"]);
  assert.equal(trained.code, 0, trained.stderr);
  const result = await analyze(["interpolate", out, "--cycle", "1", "--pairs", "average", "--points", "3", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const stored = cycleSummary(out, 1);
  for (const [particle, line] of result.lines.entries()) {
    assert.equal((line.testAccuracy as number[])[0], particleSummary(out, 1, particle).accuracy);
    close((line.testLoss as number[])[0]!, particleSummary(out, 1, particle).loss, `particle ${particle} loss`);
    assert.equal((line.testAccuracy as number[])[2], stored.accuracy);
    close((line.testLoss as number[])[2]!, stored.loss as number, "average loss");
  }
  const ensemble = await analyze(["ensemble", out, "--cycle", "1", "--members", "particles", "--json"]);
  assert.equal(ensemble.code, 0, ensemble.stderr);
  assert.equal(ensemble.lines[0]!.averagedWeightsAccuracy, stored.accuracy);
  close(ensemble.lines[0]!.averagedWeightsLoss as number, stored.loss as number, "averaged weights loss");
});
