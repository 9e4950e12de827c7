#!/usr/bin/env node
/**
 * What a `swamp run` cycle spends besides training its particles: each cycle's wall time
 * (cycles.jsonl) minus its particles' critical path (their cycle-NNN/particle-i.json seconds,
 * dealt in order to the run's task threads, each to the first free one, as the pool does).
 * That rest is the aggregate (averaging, evaluation, pruning, inference profile) and the hand-offs.
 * Usage: node scripts/cycle-overhead.mjs RUN_DIR [RUN_DIR...]   (prints medians in ms)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const ms = (seconds) => `${(seconds * 1000).toFixed(0)} ms`;

for (const dir of process.argv.slice(2)) {
  const threads = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")).workers;
  const particles = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).method.particles;
  const cycles = readFileSync(join(dir, "cycles.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
  const rest = [];
  for (const { cycle, seconds } of cycles) {
    if (cycle === 0) continue; // cycle 0 also counts the process start and pretraining
    const free = new Array(threads).fill(0);
    for (let particle = 0; particle < particles; particle++) {
      const summary = JSON.parse(readFileSync(join(dir, `cycle-${String(cycle).padStart(3, "0")}`, `particle-${particle}.json`), "utf8"));
      free[free.indexOf(Math.min(...free))] += summary.seconds;
    }
    rest.push({ cycle, seconds: seconds - Math.max(...free), profile: cycles[cycle].inference?.seconds });
  }
  const late = rest.filter((r) => r.cycle >= 20);
  const profiles = rest.map((r) => r.profile).filter((s) => s !== undefined);
  console.log(
    `${dir}: besides training, median ${ms(median(rest.map((r) => r.seconds)))} a cycle (cycles 1–${rest.length})` +
      (late.length ? `, ${ms(median(late.map((r) => r.seconds)))} in cycles 20+` : "") +
      (profiles.length ? `; inference profile ${ms(median(profiles))}` : ""),
  );
}
