/**
 * Whole jobs, side by side in one run: the fast protocol's IMP job (configs/fmnist-lenet-imp-fast.json,
 * 26 cycles) in swamp (`taskset -c 0 swamp run`) and in PyTorch (`taskset -c 1 bench/jobs_torch.py`,
 * the same protocol on one thread) at the same time, one core each; then swamp's SWAMP job
 * (configs/fmnist-lenet-swamp-fast.json) alone on two cores. Prints each wall time (start to exit)
 * and the ratio:
 *   node dist/bench/jobs.js [--json] [--python /usr/bin/python3] [--skip-swamp-job]
 * Without PyTorch (Debian: apt-get install python3-torch) it says so and runs swamp's side only.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    python: { type: "string", default: "/usr/bin/python3" },
    "skip-swamp-job": { type: "boolean", default: false },
  },
});

const ROOT = join(__dirname, "..", "..");

interface Timed {
  seconds: number;
  output: string;
}

function timed(command: string, commandArgs: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, commandArgs, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let errors = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, output });
      else reject(new Error(`${command} ${commandArgs.join(" ")} exited with ${code}: ${errors.slice(-2000)}`));
    });
  });
}

function swampRun(config: string, out: string, cores: string | undefined): Promise<Timed> {
  const command = ["node", join(ROOT, "bin", "swamp.js"), "run", "--config", join(ROOT, "configs", config), "--out", out, "--json"];
  return cores ? timed("taskset", ["-c", cores, ...command], process.env) : timed(command[0]!, command.slice(1), process.env);
}

function torchAvailable(python: string): boolean {
  return spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
}

/** The accuracy of every cycle swamp printed (its --json lines). */
function swampAccuracies(output: string): number[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"cycle"'))
    .map((line) => (JSON.parse(line) as { accuracy: number }).accuracy);
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "swamp-bench-jobs-"));
  const load = loadavg()[0]!;
  try {
    const haveTorch = torchAvailable(args.python);
    if (!haveTorch) console.log(`PyTorch is not importable by ${args.python} (Debian: apt-get install -y python3-torch): swamp's side only`);
    const torchEnv = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" };
    const [swampImp, torchImp] = await Promise.all([
      swampRun("fmnist-lenet-imp-fast.json", join(scratch, "imp"), "0"),
      haveTorch ? timed("taskset", ["-c", "1", args.python, join(ROOT, "bench", "jobs_torch.py")], torchEnv) : Promise.resolve(undefined),
    ]);
    const swampJob = args["skip-swamp-job"] ? undefined : await swampRun("fmnist-lenet-swamp-fast.json", join(scratch, "swamp"), undefined);
    const torchResult = torchImp ? (JSON.parse(torchImp.output.trim().split("\n").at(-1)!) as { cycles: Array<{ accuracy: number }> }) : undefined;
    const swampAccuracy = swampAccuracies(swampImp.output);
    const result = {
      bench: "jobs",
      loadAverageAtStart: load,
      imp: {
        swampSeconds: swampImp.seconds,
        pytorchSeconds: torchImp?.seconds,
        ratio: torchImp ? torchImp.seconds / swampImp.seconds : undefined,
        swampLastAccuracy: swampAccuracy.at(-1),
        pytorchLastAccuracy: torchResult?.cycles.at(-1)?.accuracy,
      },
      swampJobTwoCoresSeconds: swampJob?.seconds,
    };
    if (args.json) {
      console.log(JSON.stringify(result));
      return;
    }
    console.log(`load average at start: ${load.toFixed(2)}`);
    console.log(`fast-protocol IMP job (LeNet-300-100, 26 cycles), side by side, one core each:`);
    console.log(`  swamp   ${swampImp.seconds.toFixed(1)} s (last cycle's accuracy ${result.imp.swampLastAccuracy})`);
    if (torchImp) {
      console.log(`  PyTorch ${torchImp.seconds.toFixed(1)} s (last cycle's accuracy ${result.imp.pytorchLastAccuracy})`);
      console.log(`  swamp is ${result.imp.ratio!.toFixed(2)}× PyTorch (PyTorch's time / swamp's)`);
    }
    if (swampJob) console.log(`fast-protocol SWAMP job (4 particles), two cores: ${swampJob.seconds.toFixed(1)} s from start to exit`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
