/** `swamp worker`: a fleet worker pulling tasks from NATS JetStream (see worker/fleet). */
import { BACKEND_NAMES } from "../../schema/config-names.js";
import { createTransport, transportOptionsFromEnv } from "../../transport/index.js";
import { FleetWorker } from "../../worker/fleet/fleet-worker.js";
import { warnAboutOlderCoreType } from "../../worker/engine/core-type-warning.js";
import { parseCommandLine } from "../command-line.js";

const USAGE = `usage: swamp worker [--slots N] [--backend wasm|cpu|tensorflow|tensorflow-gpu] [--id ID]
  connects to NATS_URL (with NATS_USER/NATS_PASSWORD or NATS_TOKEN; SWAMP_NATS_NAMESPACE)
  --slots    tasks run at once (default: one per CPU of the container's CPU limit, from its cgroup, else one per core)
  --backend  force a TF.js backend (default: SWAMP_BACKEND, else the fastest available); the worker
             takes only tasks of experiments on that backend or not yet on any (config execution.backend)
  --id       worker id (default <host>:<pid>)`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("worker", USAGE, argv, { slots: { type: "string" }, backend: { type: "string" }, id: { type: "string" }, help: { type: "boolean", default: false } });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const slots = values.slots === undefined ? undefined : Number(values.slots);
  if (slots !== undefined && (!Number.isInteger(slots) || slots < 1)) {
    process.stderr.write(`swamp worker: --slots must be a whole number ≥ 1, got "${values.slots}"\n`);
    return 2;
  }
  if (values.backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(values.backend)) {
    process.stderr.write(`swamp worker: --backend must be one of ${BACKEND_NAMES.join(", ")}, got "${values.backend}"\n`);
    return 2;
  }
  let options;
  try {
    options = transportOptionsFromEnv();
  } catch (error) {
    process.stderr.write(`swamp worker: ${(error as Error).message}\n`);
    return 2;
  }
  if (options.mode !== "nats") {
    process.stderr.write("swamp worker: set NATS_URL (e.g. nats://127.0.0.1:4222); without it, `swamp up` runs workers in-process\n");
    return 2;
  }
  let transport;
  try {
    transport = await createTransport(options);
  } catch (error) {
    process.stderr.write(`swamp worker: ${(error as Error).name}: ${(error as Error).message}\n`);
    return 1;
  }
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  warnAboutOlderCoreType("swamp worker", values.backend);
  const worker = new FleetWorker({ transport, slots, backend: values.backend, workerId: values.id, log });
  try {
    await worker.start();
  } catch (error) {
    process.stderr.write(`swamp worker: ${(error as Error).message}\n`);
    await worker.stop().catch(() => {});
    await transport.close();
    return 1;
  }
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: string) => {
      log(`${signal}: giving unfinished tasks back and stopping`);
      void worker
        .stop()
        .then(() => transport.close())
        .then(() => resolve(0), () => resolve(1));
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
    void transport.closed().then((error) => {
      if (!error) return;
      log(`connection lost for good: ${error.message}`);
      void worker.stop().finally(() => resolve(1));
    });
  });
  return stopped;
}
