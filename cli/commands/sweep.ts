/**
 * `swamp sweep`: a base config crossed with a grid (schema/sweep-grid.ts). With --server it asks a
 * tracking server to create the sweep (createSweep) and prints the ids; without, it runs each
 * experiment here one after another as `swamp run` would, resuming unfinished ones and skipping
 * finished ones, and prints a table of the results.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { configHash, cycleCount, type ExperimentConfig } from "../../schema/config.js";
import { expandSweep, type SweepPoint } from "../../schema/sweep-grid.js";
import { DatasetFileError, DatasetOptionError } from "../../worker/data/dataset.js";
import { exists, readJson } from "../../worker/run/files.js";
import { LocalRun, RunDirectoryError, RunStopped } from "../../worker/run/local-run.js";
import { RunLayout } from "../../worker/run/run-layout.js";
import type { CycleSummary } from "../../worker/run/summaries.js";
import { warnAboutOlderCoreType } from "../../worker/engine/core-type-warning.js";
import { parseCommandLine } from "../command-line.js";

const USAGE = `usage: swamp sweep --config BASE.json --grid GRID.json [--name NAME] [--tags a,b] [--out DIR] [--workers N] [--backend B]
       swamp sweep --config BASE.json --grid GRID.json [--name NAME] [--tags a,b] --server URL [--token T]
  --config   the base config (JSON); it may leave out what the grid sets
  --grid     config paths to value lists, e.g. {"seed": [0, 1, 2], "method": [{"name": "imp"}, {"name": "swamp", "particles": 4}]}
  --name     the sweep's name; experiments are <name>-<index> (default: the base config's name)
  --tags     comma-separated tags added to every experiment
  --out      where the local runs go, one directory each (default runs/)
  --server   create the sweep on this tracking server instead (e.g. http://127.0.0.1:4000)
  --token    bearer token with write scope (default: SWAMP_TOKEN)`;

class UsageError extends Error {}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("sweep", USAGE, argv, {
    config: { type: "string" },
    grid: { type: "string" },
    name: { type: "string" },
    tags: { type: "string" },
    out: { type: "string" },
    workers: { type: "string" },
    backend: { type: "string" },
    server: { type: "string" },
    token: { type: "string" },
    help: { type: "boolean", default: false },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  try {
    if (!values.config || !values.grid) throw new UsageError("--config and --grid are required");
    const base = await readJsonFile(values.config);
    const grid = await readJsonFile(values.grid);
    const baseName = (base as { name?: unknown }).name;
    const name = values.name ?? (typeof baseName === "string" ? baseName : "sweep");
    const tags = values.tags ? values.tags.split(",").map((tag) => tag.trim()).filter((tag) => tag.length > 0) : [];
    if (values.server) return await createOnServer(values.server, values.token ?? process.env.SWAMP_TOKEN ?? null, name, base, grid, tags);
    const expansion = expandSweep(name, base, grid, tags);
    if (!expansion.ok) {
      process.stderr.write(`swamp sweep: invalid sweep:\n${expansion.problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}\n`);
      return 2;
    }
    const workers = values.workers === undefined ? undefined : Number(values.workers);
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) throw new UsageError(`--workers must be a whole number ≥ 1, got "${values.workers}"`);
    return await runLocally(expansion.points, values.out ?? "runs", workers, values.backend);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`swamp sweep: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
}

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

const CREATE_SWEEP = `mutation($name: String!, $base: JSONObject!, $grid: JSONObject!, $tags: [String!]) {
  createSweep(name: $name, base: $base, grid: $grid, tags: $tags) { id size experimentIds }
}`;

async function createOnServer(server: string, token: string | null, name: string, base: unknown, grid: unknown, tags: string[]): Promise<number> {
  const url = server.replace(/\/+$/, "").endsWith("/graphql") ? server : `${server.replace(/\/+$/, "")}/graphql`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: { data?: { createSweep?: { id: string; size: number; experimentIds: string[] } } | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  try {
    const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query: CREATE_SWEEP, variables: { name, base, grid, tags } }) });
    body = (await response.json()) as typeof body;
  } catch (error) {
    process.stderr.write(`swamp sweep: could not reach ${url}: ${(error as Error).message}\n`);
    return 1;
  }
  const created = body.data?.createSweep;
  if (!created) {
    const errors = body.errors ?? [{ message: "the server returned no sweep" }];
    process.stderr.write(`swamp sweep: ${errors.map((e) => e.message).join("\n")}\n`);
    return errors.some((e) => e.extensions?.code === "BAD_USER_INPUT") ? 2 : 1;
  }
  process.stdout.write(`sweep ${created.id} (${created.size} experiments)\n${created.experimentIds.map((id) => `${id}\n`).join("")}`);
  return 0;
}

interface PointOutcome {
  point: SweepPoint;
  outDir: string;
  status: "completed" | "skipped (complete)" | "failed" | "stopped";
  cycles: CycleSummary[];
  error?: string;
}

async function runLocally(points: SweepPoint[], outRoot: string, workers: number | undefined, backend: string | undefined): Promise<number> {
  warnAboutOlderCoreType("swamp sweep", backend);
  const outcomes: PointOutcome[] = [];
  let stopRequested = false;
  let current: LocalRun | null = null;
  const onSignal = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write("\nswamp sweep: stopping after the current step (Ctrl-C again to quit at once); run the same command to resume\n");
    current?.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    for (const point of points) {
      if (stopRequested) break;
      const config = point.config;
      const outDir = join(outRoot, `${config.name}-${configHash(config).slice(0, 12)}`);
      const finished = await finishedCycles(outDir, config);
      if (finished) {
        outcomes.push({ point, outDir, status: "skipped (complete)", cycles: finished });
        process.stderr.write(`swamp sweep: ${config.name} is complete in ${outDir}; skipped\n`);
        continue;
      }
      process.stderr.write(`swamp sweep: ${config.name} (${point.index + 1}/${points.length}) → ${outDir}\n`);
      current = new LocalRun({ config, outDir, resume: exists(new RunLayout(outDir).config), workers, backend });
      try {
        const result = await current.execute();
        outcomes.push({ point, outDir, status: "completed", cycles: result.cycles });
      } catch (error) {
        if (error instanceof RunStopped) {
          outcomes.push({ point, outDir, status: "stopped", cycles: [] });
          break;
        }
        if (error instanceof RunDirectoryError || error instanceof DatasetFileError || error instanceof DatasetOptionError) {
          outcomes.push({ point, outDir, status: "failed", cycles: [], error: error.message });
          process.stderr.write(`swamp sweep: ${config.name}: ${error.message}\n`);
          continue;
        }
        throw error;
      } finally {
        current = null;
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  process.stdout.write(`${formatSweepTable(outcomes)}\n`);
  if (outcomes.some((o) => o.status === "stopped")) return 130;
  return outcomes.some((o) => o.status === "failed") ? 1 : 0;
}

/** The cycle summaries of a run directory holding every cycle of this config, else null. */
async function finishedCycles(outDir: string, config: ExperimentConfig): Promise<CycleSummary[] | null> {
  const layout = new RunLayout(outDir);
  if (!exists(layout.config)) return null;
  if (configHash(await readJson<ExperimentConfig>(layout.config)) !== configHash(config)) return null;
  const summaries: CycleSummary[] = [];
  for (let cycle = 0; cycle < cycleCount(config); cycle++) {
    if (!exists(layout.cycleSummary(cycle))) return null;
    summaries.push(await readJson<CycleSummary>(layout.cycleSummary(cycle)));
  }
  return summaries;
}

function formatSweepTable(outcomes: PointOutcome[]): string {
  const percent = (x: number) => `${(x * 100).toFixed(2)}%`;
  const header = ["#", "name", "grid values", "status", "final sparsity", "final accuracy", "best accuracy", "outputs"];
  const rows = outcomes.map((o) => {
    const last = o.cycles.at(-1);
    return [
      String(o.point.index),
      o.point.config.name,
      Object.entries(o.point.assignment).map(([path, value]) => `${path}=${JSON.stringify(value)}`).join(" "),
      o.status,
      last ? `${(last.sparsity * 100).toFixed(1)}%` : "",
      last ? percent(last.accuracy) : "",
      o.cycles.length > 0 ? percent(Math.max(...o.cycles.map((c) => c.accuracy))) : "",
      o.outDir,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
