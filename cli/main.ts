/**
 * The `swamp` command. Each subcommand lives in cli/commands/<name>.ts and is loaded only when
 * called, so `swamp server` never loads TensorFlow.js and `swamp run` never loads the server.
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  run: { summary: "run an experiment in this process: swamp run --config FILE [--out DIR] [--json] [--resume] [--workers N]", load: () => import("./commands/run.js") },
  sweep: { summary: "a base config × a grid of values, run here one by one or created on a server: swamp sweep --config BASE --grid GRID [--server URL]", load: () => import("./commands/sweep.js") },
  profile: { summary: "measure the inference cost of a run's stored models on this machine: swamp profile RUN_DIR [--cycle N] [--json]", load: () => import("./commands/profile.js") },
  export: { summary: "write a cycle's model for deployment: swamp export RUN_DIR --cycle N --format swsp|tfjs|npz [--out PATH]", load: () => import("./commands/export.js") },
  import: { summary: "upload a swamp run directory (finished or partial) to a server as an experiment: swamp import RUN_DIR [--server URL] [--token T]", load: () => import("./commands/import.js") },
  gc: { summary: "bytes a server's artifact store holds per experiment, and removal of objects no artifact names: swamp gc [--server URL] [--dry-run]", load: () => import("./commands/gc.js") },
  worker: { summary: "run a fleet worker pulling tasks from NATS (NATS_URL): swamp worker [--slots N]", load: () => import("./commands/worker.js") },
  up: { summary: "server, coordinator and a local worker pool in one command (npm start): swamp up [--workers N] [--no-defaults]", load: () => import("./commands/up.js") },
  analyze: { summary: "the paper's analyses over stored models: swamp analyze interpolate|plane|flatness|ensemble|mask-overlap RUN_DIR... --cycle N [--json], or --server URL --experiment ID", load: () => import("./commands/analyze-entry.js") },
  server: { summary: "start the GraphQL tracking server; with NATS_URL also the coordinator of a `swamp worker` fleet", load: () => import("./commands/server.js") },
};

function usage(): string {
  return ["usage: swamp <command> [options]", "", "commands:", ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`swamp: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  return (await command.load()).run(rest);
}

// A reader that stops early (`swamp run --json | head -1`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`swamp: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
