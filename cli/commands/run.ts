/** `swamp run`: one experiment in this process (see worker/run/local-run.ts). */
import { join } from "node:path";
import { configHash, InvalidConfigError } from "../../schema/config.js";
import { DatasetFileError, DatasetOptionError } from "../../worker/data/dataset.js";
import { LocalRun, RunDirectoryError, RunStopped } from "../../worker/run/local-run.js";
import { ConfigFileError, readConfigFile } from "../config-file.js";
import { warnAboutOlderCoreType } from "../../worker/engine/core-type-warning.js";
import { ProgressDisplay } from "../progress.js";
import { formatResultsTable } from "../results-table.js";
import { parseCommandLine } from "../command-line.js";

const USAGE = `usage: swamp run --config FILE [--out DIR] [--json] [--resume] [--workers N] [--backend wasm|cpu|tensorflow|tensorflow-gpu] [--no-profile]
  --config   experiment config (JSON); see configs/
  --out      output directory (default runs/<name>-<config hash>)
  --json     print one JSON object per finished cycle on stdout, and nothing else there
  --resume   continue a stopped run in --out from its last finished step
  --workers  task threads (default: one per core, at most one per particle)
  --backend  force a TF.js backend (default: SWAMP_BACKEND, else the fastest available)
  --no-profile  skip measuring each cycle's averaged model's inference cost (cycles.jsonl's "inference")`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("run", USAGE, argv, {
    config: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean", default: false },
    resume: { type: "boolean", default: false },
    workers: { type: "string" },
    backend: { type: "string" },
    "no-profile": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (!values.config) {
    process.stderr.write(`swamp run: --config is required\n${USAGE}\n`);
    return 2;
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) {
    process.stderr.write(`swamp run: --workers must be a whole number ≥ 1, got "${values.workers}"\n`);
    return 2;
  }

  let config;
  try {
    config = await readConfigFile(values.config);
  } catch (error) {
    if (error instanceof ConfigFileError) {
      process.stderr.write(`swamp run: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const outDir = values.out ?? join("runs", `${config.name}-${configHash(config).slice(0, 12)}`);
  const progress = process.stderr.isTTY ? new ProgressDisplay(process.stderr) : undefined;
  const json = values.json;
  warnAboutOlderCoreType("swamp run", values.backend);
  const localRun = new LocalRun({
    config,
    outDir,
    resume: values.resume,
    workers,
    backend: values.backend,
    profile: !values["no-profile"],
    onEvent: (event) => {
      progress?.handle(event);
      if (event.type === "cycle-done" && json) process.stdout.write(`${JSON.stringify(event.summary)}\n`);
      if (event.type === "started" && !progress && !json) process.stderr.write(`swamp run: ${outDir} on ${event.backend.name}, ${event.workers} thread(s)\n`);
    },
  });
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write("\nswamp run: stopping after the current step (Ctrl-C again to quit at once)\n");
    localRun.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await localRun.execute();
    progress?.finish();
    if (!json) process.stdout.write(`${formatResultsTable(result.cycles)}\n\noutputs: ${outDir}\n`);
    return 0;
  } catch (error) {
    progress?.finish();
    if (error instanceof RunStopped) {
      process.stderr.write(`swamp run: ${error.message}\n`);
      return 130;
    }
    if (error instanceof RunDirectoryError || error instanceof InvalidConfigError || error instanceof DatasetFileError || error instanceof DatasetOptionError) {
      process.stderr.write(`swamp run: ${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
