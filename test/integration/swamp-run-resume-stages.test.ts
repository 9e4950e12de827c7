/**
 * `swamp run --resume` from each place a stop can leave a cycle: some of its particles trained
 * (the stage is finished, the trained ones read back), or all of them trained and the aggregate not
 * (the particles read back from their files for it). Both must end byte for byte as a run that
 * never stopped.
 */
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { jsonLines, runSwamp, tempDir, writeConfig } from "../helpers/cli.js";

const config = writeConfig({
  name: "resume-stages",
  seed: 3,
  data: { name: "synthetic", trainSubset: 256, testSubset: 128 },
  model: { name: "lenet-300-100" },
  method: { name: "swamp", particles: 3 },
  pruning: { rate: 0.3, cycles: 2 },
  training: { epochs: 2, rewindEpochs: 1, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 128 },
  swa: { lr: 0.02, startFraction: 0.5 },
});

/** Every model and mask of a run directory, by path. */
function modelFiles(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>([["rewind.swt", readFileSync(join(dir, "rewind.swt"))]]);
  for (const cycle of readdirSync(dir).filter((name) => name.startsWith("cycle-"))) {
    for (const file of readdirSync(join(dir, cycle)).filter((name) => name.endsWith(".swt") || name.endsWith(".bin"))) files.set(`${cycle}/${file}`, readFileSync(join(dir, cycle, file)));
  }
  return files;
}

const withoutTimings = (line: Record<string, unknown>) => ({ ...line, seconds: undefined, inference: undefined });
const metricKeys = (dir: string) => jsonLines(readFileSync(join(dir, "metrics.jsonl"), "utf8")).map((m) => `${m.task}|${m.key}|${m.step}`).sort();

test("a run stopped inside a cycle's particles or before its aggregate resumes to the same bytes", async () => {
  const straight = join(tempDir("straight"), "run");
  const uninterrupted = await runSwamp(["run", "--config", config, "--out", straight, "--json", "--no-profile"]);
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
  const expected = modelFiles(straight);
  assert.equal(expected.size, 1 + 3 * (1 + 3 + 1), "rewind point, and per cycle its mask, particles and average");

  const stops: Record<string, string[]> = {
    "some particles trained": ["cycle-002/particle-1.json", "cycle-002/particle-1.swt", "cycle-002/average.swt", "cycle-002/cycle.json"],
    "every particle trained, not aggregated": ["cycle-002/average.swt", "cycle-002/cycle.json"],
  };
  for (const [stop, removed] of Object.entries(stops)) {
    const dir = join(tempDir("stopped"), "run");
    cpSync(straight, dir, { recursive: true });
    for (const file of removed) rmSync(join(dir, file));
    writeFileSync(join(dir, "cycles.jsonl"), readFileSync(join(dir, "cycles.jsonl"), "utf8").split("\n").slice(0, 2).map((line) => `${line}\n`).join(""));

    const resumed = await runSwamp(["run", "--config", config, "--out", dir, "--json", "--resume", "--no-profile"]);
    assert.equal(resumed.code, 0, `${stop}: ${resumed.stderr}`);
    const lines = jsonLines(resumed.stdout);
    assert.deepEqual(lines.map(withoutTimings), jsonLines(uninterrupted.stdout).map(withoutTimings), `${stop}: every cycle reported, the finished ones as they were`);
    const got = modelFiles(dir);
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), `${stop}: the same files`);
    for (const [path, bytes] of expected) assert.ok(got.get(path)!.equals(bytes), `${stop}: ${path} is byte-identical`);
    assert.deepEqual(metricKeys(dir), metricKeys(straight), `${stop}: no metric lost or duplicated`);
  }
});
