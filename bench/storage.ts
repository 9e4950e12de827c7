/**
 * Bytes a `swamp run` directory holds, and the wall time of writing and reading its models:
 *   node dist/bench/storage.js [--json] [--keep all,averages,final] [--fast] [--rounds R] [--files-from RUN_DIR]
 * Runs the run of issue 21 (LeNet-300-100 SWAMP, 4 particles, 4,000 Fashion-MNIST images, 15
 * pruned cycles of 1 epoch) once per `storage.keep` with the CLI (two task threads) and measures
 * its directory. "Before" is the same run in the layout earlier versions wrote (every model dense
 * `.swt`, plus `average.swsp` and the TF.js `model/` each cycle), rebuilt byte for byte from the
 * run's models. --fast also runs the fast LeNet protocol (configs/fmnist-lenet-swamp-fast.json,
 * keep all; minutes). Then, for the averaged models of cycles 0, 1, 5, 10 and 15: median wall
 * time of encoding + writing and of reading + decoding the stored (masked) file against the dense one
 * (--files-from times the files of an existing run directory of 16 or more cycles, and runs nothing).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { requireExperimentConfig, type ExperimentConfig } from "../schema/config.js";
import { unpackMask } from "../schema/mask-bits.js";
import { decodeStoredWeights, decodeWeights, encodeWeights, storedWeightsMask } from "../schema/weights-file.js";
import { encodeSparse } from "../worker/formats/sparse-file.js";
import { modelLayout, tfjsModelFiles } from "../worker/formats/tfjs-on-request.js";
import { RunLayout } from "../worker/run/run-layout.js";
import { encodeRunModel, readRunModel } from "../worker/run/run-models.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    keep: { type: "string", default: "all,averages,final" },
    fast: { type: "boolean", default: false },
    rounds: { type: "string", default: "9" },
    "files-from": { type: "string" },
  },
});
const SWAMP = resolve(__dirname, "../../bin/swamp.js");
const MB = 1e6;

const ISSUE_RUN = {
  name: "storage-bench",
  seed: 0,
  data: { name: "fashion-mnist", trainSubset: 4000 },
  model: { name: "lenet-300-100" },
  method: { name: "swamp", particles: 4 },
  pruning: { rate: 0.2, cycles: 15 },
  training: { epochs: 1, rewindEpochs: 1, batchSize: 128, lr: 0.1, momentum: 0.9, weightDecay: 0.0001, schedule: "cosine" },
  swa: { lr: 0.05, startFraction: 0.75, everyEpochs: 1 },
};

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  return total;
}

function runCli(config: unknown, out: string): number {
  const file = join(out, "..", `${(config as { name: string }).name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const started = performance.now();
  execFileSync(process.execPath, [SWAMP, "run", "--config", file, "--out", out, "--workers", "2"], { stdio: ["ignore", "ignore", "inherit"] });
  return (performance.now() - started) / 1000;
}

/** The bytes earlier versions wrote for the same run: dense models, average.swsp and model/ each cycle. */
async function bytesBefore(dir: string, config: ExperimentConfig): Promise<number> {
  const layout = new RunLayout(dir);
  const cycles = config.pruning.cycles + 1;
  const weightLayout = await modelLayout(config);
  const sizes = weightLayout.prunable.map((p) => weightLayout.entries[p]!.size);
  let total = 0;
  for (const name of ["config.json", "run.json", "metrics.jsonl", "cycles.jsonl", "rewind.swt"]) total += statSync(join(dir, name)).size;
  // cycles.jsonl and cycle.json named two more files per cycle then.
  total += cycles * 2 * ',"sparseWeights":"cycle-000/average.swsp","tfjsModel":"cycle-000/model/model.json"'.length;
  for (let cycle = 0; cycle < cycles; cycle++) {
    for (const name of readdirSync(layout.cycleDir(cycle))) if (!name.endsWith(".swt")) total += statSync(join(layout.cycleDir(cycle), name)).size;
    const { values, entries } = await readRunModel(layout, cycle, "average");
    const dense = encodeWeights(values, entries).length;
    total += dense * (1 + config.method.particles);
    const mask = unpackMask(new Uint8Array(readFileSync(layout.mask(cycle))), sizes);
    total += encodeSparse(values, mask, weightLayout, { configHash: "0".repeat(64), cycle }).length;
    const model = await tfjsModelFiles(config, values);
    total += Buffer.byteLength(model.modelJson) + model.weightsBin.length;
  }
  return total;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeFiles(dir: string, config: ExperimentConfig, rounds: number) {
  const layout = new RunLayout(dir);
  const weightLayout = await modelLayout(config);
  const scratch = mkdtempSync(join(tmpdir(), "swamp-storage-bench-"));
  const rows = [];
  for (const cycle of [0, 1, 5, 10, 15]) {
    const { values, entries } = await readRunModel(layout, cycle, "average");
    const maskBits = new Uint8Array(readFileSync(layout.mask(cycle)));
    const timings = { denseWrite: [] as number[], denseRead: [] as number[], sparseWrite: [] as number[], sparseRead: [] as number[] };
    let sparseBytes = 0;
    let denseBytes = 0;
    for (let round = 0; round < rounds; round++) {
      let t = performance.now();
      const dense = encodeWeights(values, entries);
      await writeFile(join(scratch, "dense.swt"), dense);
      timings.denseWrite.push(performance.now() - t);
      t = performance.now();
      decodeWeights(await readFile(join(scratch, "dense.swt")));
      timings.denseRead.push(performance.now() - t);
      t = performance.now();
      const stored = encodeRunModel(values, weightLayout, maskBits);
      await writeFile(join(scratch, "stored.swt"), stored);
      timings.sparseWrite.push(performance.now() - t);
      t = performance.now();
      // As the run loader does: the model's file and its cycle's mask.
      const file = await readFile(join(scratch, "stored.swt"));
      decodeStoredWeights(file, "stored.swt", storedWeightsMask(file) ? new Uint8Array(await readFile(layout.mask(cycle))) : null);
      timings.sparseRead.push(performance.now() - t);
      sparseBytes = stored.length;
      denseBytes = dense.length;
    }
    rows.push({ cycle, denseBytes, storedBytes: sparseBytes, ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [`${k}Ms`, Number(median(v).toFixed(2))])) });
  }
  rmSync(scratch, { recursive: true, force: true });
  return rows;
}

async function main(): Promise<void> {
  if (args["files-from"]) {
    const dir = resolve(args["files-from"]);
    const files = await timeFiles(dir, requireExperimentConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))), Number(args.rounds));
    report({ runs: [], files });
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "swamp-storage-runs-"));
  const results: Record<string, unknown> = {};
  const runs: Array<{ run: string; keep: string; seconds: number; bytes: number; bytesBefore?: number }> = [];
  let allDir: string | undefined;
  for (const keep of args.keep.split(",")) {
    const out = join(root, `issue-${keep}`);
    const seconds = runCli({ ...ISSUE_RUN, storage: { keep } }, out);
    runs.push({ run: "issue 21 (LeNet-300-100, 4 particles, 4,000 images, 15 pruned cycles × 1 epoch)", keep, seconds, bytes: directoryBytes(out) });
    if (keep === "all") allDir = out;
  }
  const config = requireExperimentConfig(ISSUE_RUN);
  if (allDir) runs.find((r) => r.keep === "all")!.bytesBefore = await bytesBefore(allDir, config);
  if (args.fast) {
    const fast = requireExperimentConfig(JSON.parse(readFileSync(resolve(dirname(SWAMP), "../configs/fmnist-lenet-swamp-fast.json"), "utf8")));
    const out = join(root, "fast-all");
    const seconds = runCli(fast, out);
    runs.push({ run: "fast LeNet protocol (configs/fmnist-lenet-swamp-fast.json)", keep: "all", seconds, bytes: directoryBytes(out), bytesBefore: await bytesBefore(out, fast) });
  }
  results.runs = runs;
  if (allDir) results.files = await timeFiles(allDir, config, Number(args.rounds));
  rmSync(root, { recursive: true, force: true });
  report(results);
}

function report(results: Record<string, unknown>): void {
  if (args.json) {
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return;
  }
  for (const r of results.runs as Array<{ run: string; keep: string; seconds: number; bytes: number; bytesBefore?: number }>) {
    const before = r.bytesBefore === undefined ? "" : `  (before: ${(r.bytesBefore / MB).toFixed(1)} MB)`;
    process.stdout.write(`${r.run}, keep ${r.keep}: ${(r.bytes / MB).toFixed(2)} MB${before}, run ${r.seconds.toFixed(0)} s\n`);
  }
  if (results.files) {
    process.stdout.write("\naveraged model file: cycle  dense B  stored B  write dense/stored ms  read dense/stored ms (medians)\n");
    for (const f of results.files as Array<Record<string, number>>) {
      process.stdout.write(`  ${String(f.cycle).padStart(5)}  ${String(f.denseBytes).padStart(8)}  ${String(f.storedBytes).padStart(8)}  ${f.denseWriteMs!.toFixed(2).padStart(8)} / ${f.sparseWriteMs!.toFixed(2).padEnd(8)}  ${f.denseReadMs!.toFixed(2).padStart(8)} / ${f.sparseReadMs!.toFixed(2)}\n`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:storage: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
