/**
 * Backend routing (issue 18) with real NATS and PostgreSQL: two `swamp worker` processes forced
 * onto different TF.js backends (`--backend cpu` and `--backend wasm`; there is no GPU here, and
 * tensorflow-gpu is routed the same way). An experiment that requires a backend runs only on its
 * workers and waits while there are none; an experiment that requires none (`any`) is pinned to
 * the backend of the worker that ran its first task, so its particles are never split across
 * backends whose floats differ.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { join } from "node:path";
import { runSwamp, tempDir, writeConfig } from "../helpers/cli.js";
import { waitFor } from "../transport/support/waiting.js";
import { startFleet, startWorkerProcess, tinyConfig, type Fleet, type WorkerProcess } from "./support/fleet.js";

/**
 * What routing needs, at the least cost: the pure-JS cpu backend trains several times slower than
 * wasm, so a particle here is one epoch of 64 examples (the assertions are about who ran what).
 * The experiments differ only in name and route, which the config hash leaves out, so a worker
 * keeps one warm task thread for all of them instead of starting a backend for each task.
 */
function routingConfig(overrides: Record<string, unknown>): Record<string, unknown> {
  return tinyConfig({
    data: { name: "synthetic", trainSubset: 64, testSubset: 64 },
    training: { epochs: 1, rewindEpochs: 0, batchSize: 32, lr: 0.05, bnRecalibrationExamples: 64 },
    seed: 5,
    ...overrides,
  });
}

let fleet: Fleet;
const workers: WorkerProcess[] = [];
const BACKEND_OF_WORKER: Record<string, string> = { "cpu-worker": "cpu", "wasm-worker": "wasm" };

before(async () => {
  // An experiment whose route has no live worker for 2 s is reported as waiting.
  fleet = await startFleet({ label: "routing", routeWaitWarningMs: 2_000 });
});

after(async () => {
  await Promise.all(workers.map((worker) => worker.kill("SIGTERM")));
  await fleet.close();
});

/** The workers whose results were recorded for the experiment, and the backend it is pinned to. */
async function whoRan(id: string): Promise<{ workers: string[]; results: number; backend: string | null }> {
  const db = fleet.server.server.dataSource;
  const rows: Array<{ worker_id: string; n: number }> = await db.query(
    `SELECT worker_id, count(*)::int AS n FROM task_results WHERE experiment_id = $1 GROUP BY worker_id ORDER BY worker_id`,
    [id],
  );
  const [experiment] = (await db.query(`SELECT backend FROM experiments WHERE id = $1`, [id])) as Array<{ backend: string | null }>;
  return { workers: rows.map((row) => row.worker_id), results: rows.reduce((sum, row) => sum + row.n, 0), backend: experiment!.backend };
}

async function startWorker(id: string): Promise<WorkerProcess> {
  const worker = startWorkerProcess(fleet, id, {}, ["--backend", BACKEND_OF_WORKER[id]!]);
  workers.push(worker);
  // Its heartbeat says which backend it advertises.
  await waitFor(`${id} advertising ${BACKEND_OF_WORKER[id]}`, async () => {
    const rows: Array<{ backend: string }> = await fleet.server.server.dataSource.query(`SELECT backend FROM workers WHERE id = $1`, [id]);
    return rows[0]?.backend === BACKEND_OF_WORKER[id];
  }, 60_000);
  return worker;
}

async function completed(id: string): Promise<void> {
  assert.equal(await fleet.waitForStatus(id, ["completed", "failed"], 180_000), "completed", (await fleet.experiment(id)).error ?? "");
}

test("a config requiring a backend the fleet lacks waits; it never runs on a worker of another backend", async () => {
  await startWorker("cpu-worker");
  const needsWasm = await fleet.submit(routingConfig({ name: "needs-wasm", execution: { backend: "wasm" } }));
  const needsCpu = await fleet.submit(routingConfig({ name: "needs-cpu", execution: { backend: "cpu" } }));
  const anyFirst = await fleet.submit(routingConfig({ name: "any-first" }));
  // The cpu worker finishes everything it may run, pulling all the while, and leaves the wasm one alone.
  await completed(needsCpu);
  await completed(anyFirst);
  assert.deepEqual(await whoRan(needsCpu), { workers: ["cpu-worker"], results: 7, backend: "cpu" });
  assert.deepEqual(await whoRan(anyFirst), { workers: ["cpu-worker"], results: 7, backend: "cpu" }, "an `any` experiment is pinned to its first worker's backend");
  assert.deepEqual(await whoRan(needsWasm), { workers: [], results: 0, backend: null });
  assert.deepEqual(await fleet.transport.tasks.queuedTaskIds(needsWasm), [`${needsWasm}:pretrain`], "its first task waits on the wasm route");
  assert.notEqual((await fleet.experiment(needsWasm)).status, "failed");
  // Not silently: GraphQL and the server's log say what it waits for.
  const waitingFor = async (id: string) =>
    (await fleet.gql<{ experiment: { waitingFor: string | null } }>(`query($id: ID!) { experiment(id: $id) { waitingFor } }`, { id })).data!.experiment.waitingFor;
  await waitFor("the wasm experiment to be reported waiting", async () => (await waitingFor(needsWasm)) !== null, 20_000);
  assert.match((await waitingFor(needsWasm))!, /^waiting for a wasm worker: no live worker runs the wasm backend for \d+ min, and its config requires it \(execution\.backend\); start one \(swamp worker --backend wasm\)$/);
  await waitFor("a log line naming it", () => fleet.lines.some((line) => line.includes(`experiment ${needsWasm} (needs-wasm) is waiting for a wasm worker`)), 20_000);
  assert.ok(!fleet.lines.some((line) => line.includes(needsCpu) && /waiting for/.test(line)), "an experiment its workers serve is never reported");

  await startWorker("wasm-worker");
  // Cleared as soon as a worker of its route heartbeats (whether or not it has finished by then).
  assert.equal(await waitingFor(needsWasm), null);
  await waitFor("the log to say it no longer waits", () => fleet.lines.some((line) => line.includes(`experiment ${needsWasm} (needs-wasm) no longer waits`)), 20_000);
  await completed(needsWasm);
  assert.deepEqual(await whoRan(needsWasm), { workers: ["wasm-worker"], results: 7, backend: "wasm" });
  const listed = await fleet.gql<{ experiment: { backend: string | null; config: { execution?: unknown } } }>(`query($id: ID!) { experiment(id: $id) { backend config } }`, { id: needsWasm });
  assert.deepEqual(listed.data?.experiment, { backend: "wasm", config: listed.data!.experiment.config });
  assert.deepEqual(listed.data!.experiment.config.execution, { backend: "wasm" });
});

test("an `any` experiment's particles all run on the backend of its first task, with workers of two backends free", async () => {
  // Four particles per cycle and a free worker on each backend: without routing they would be split.
  const ids = await Promise.all([1, 2, 3].map((n) => fleet.submit(routingConfig({ name: `any-${n}`, method: { name: "swamp", particles: 4 } }))));
  for (const id of ids) await completed(id);
  for (const id of ids) {
    const ran = await whoRan(id);
    assert.equal(ran.workers.length, 1, `one backend's worker ran all of ${id}: ${ran.workers.join(", ")}`);
    assert.equal(ran.results, 1 + 4 + 4 + 2, "pretrain, two cycles of four particles, two aggregates");
    assert.equal(ran.backend, BACKEND_OF_WORKER[ran.workers[0]!], "pinned to the backend that computed its results");
  }
});

test("a backend outside the known names is refused, naming the config field or the flag", async () => {
  const created = await fleet.gql(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, {
    config: tinyConfig({ name: "bad-backend", execution: { backend: "gpu" } }),
  });
  assert.ok(created.errors, "refused");
  assert.match(JSON.stringify(created.errors), /execution\.backend/);
  assert.match(JSON.stringify(created.errors), /must be one of \\"any\\", \\"tensorflow-gpu\\", \\"tensorflow\\", \\"wasm\\", \\"cpu\\"/);
  const extra = await fleet.gql(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, {
    config: tinyConfig({ name: "bad-execution", execution: { backend: "wasm", device: 0 } }),
  });
  assert.match(JSON.stringify(extra.errors), /execution/);

  const worker = await runSwamp(["worker", "--backend", "gpu"], { NATS_URL: fleet.natsUrl, SWAMP_NATS_NAMESPACE: fleet.namespace });
  assert.equal(worker.code, 2);
  assert.match(worker.stderr, /--backend must be one of tensorflow-gpu, tensorflow, wasm, cpu/);

  // `swamp run` follows the config's requirement and refuses a --backend that contradicts it.
  const run = await runSwamp(["run", "--config", writeConfig(tinyConfig({ name: "run-contradiction", execution: { backend: "wasm" } })), "--backend", "cpu", "--out", join(tempDir("routing"), "run")]);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /execution\.backend: requires "wasm", but --backend asks for "cpu"/);
});
