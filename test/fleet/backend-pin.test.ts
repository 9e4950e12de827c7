/**
 * An experiment's pin holds against results already under way (issue 18), with real NATS and
 * PostgreSQL and no worker: tasks queued on the `any` route before the experiment was pinned can
 * be taken by workers of different backends. The first recorded result pins it; a later result
 * from another backend is refused (nothing recorded: its floats would mix with the pinned ones)
 * and its task is queued again on the pinned route, where a worker of that backend takes it.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { taskIdFor, type TaskResultInput } from "../../schema/fleet-messages.js";
import { waitFor } from "../transport/support/waiting.js";
import { startFleet, tinyConfig, type Fleet } from "./support/fleet.js";

let fleet: Fleet;

before(async () => {
  fleet = await startFleet({ label: "pin" });
});

after(async () => {
  await fleet?.close();
});

function particleResult(experimentId: string, particle: number, backend: "cpu" | "wasm", weights: { sha256: string; size: number }): TaskResultInput {
  return {
    outcome: "succeeded",
    kind: "train-particle",
    taskId: taskIdFor({ experimentId, kind: "train-particle", cycle: 0, particle }),
    experimentId,
    workerId: `${backend}-worker`,
    attempt: 1,
    finishedAt: Date.now(),
    backend,
    cycle: 0,
    particle,
    outputs: { weights },
    numbers: { orderSeed: 1, accuracy: 0.5, loss: 1, epochLosses: [1], swaSnapshots: 1, seconds: 1, examplesPerSecond: 1 },
  };
}

test("a result from another backend than the pinned one is refused and its task queued again on the pinned route", async () => {
  const db = fleet.server.server.dataSource;
  const experimentId = await fleet.submit(tinyConfig({ name: "pinned-midway", seed: 41 }));
  const weights = await fleet.transport.artifacts.put(new TextEncoder().encode("weights of a test"));
  const particleTask = (particle: number) => taskIdFor({ experimentId, kind: "train-particle", cycle: 0, particle });
  const resultsOf = async (): Promise<Array<{ task_id: string; worker_id: string }>> =>
    db.query(`SELECT task_id, worker_id FROM task_results WHERE experiment_id = $1 ORDER BY task_id`, [experimentId]);

  // A pretrain result that names no backend (as from a version before backends) leaves it unpinned: the particles go to `any`.
  await fleet.transport.results.publish({
    outcome: "succeeded", kind: "pretrain", taskId: `${experimentId}:pretrain`, experimentId, workerId: "old-worker",
    attempt: 1, finishedAt: Date.now(), outputs: { weights }, numbers: { seconds: 1 },
  });
  await waitFor("the particles to be queued", async () => (await fleet.transport.tasks.queuedTaskIds(experimentId)).includes(particleTask(1)), 30_000);

  // Particle 0 on a cpu worker pins the experiment to cpu; particle 1, taken from `any` meanwhile, ran on wasm.
  await fleet.transport.results.publish(particleResult(experimentId, 0, "cpu", weights));
  await waitFor("the pin", async () => ((await db.query(`SELECT backend FROM experiments WHERE id = $1`, [experimentId])) as Array<{ backend: string | null }>)[0]!.backend === "cpu", 30_000);
  const ignoredBefore = fleet.server.coordinator.stats.resultsIgnored;
  await fleet.transport.results.publish(particleResult(experimentId, 1, "wasm", weights));
  await waitFor("the wasm result to be refused", async () => fleet.server.coordinator.stats.resultsIgnored === ignoredBefore + 1, 30_000);

  assert.ok(
    fleet.lines.some((line) => line.includes(`ignored the result of ${particleTask(1)}: it ran on the wasm backend, and the experiment is pinned to cpu: queued again on its route`)),
    fleet.lines.join("\n"),
  );
  assert.deepEqual(await resultsOf(), [
    { task_id: `${experimentId}:pretrain`, worker_id: "old-worker" },
    { task_id: particleTask(0), worker_id: "cpu-worker" },
  ]);
  const particles: Array<{ status: string }> = await db.query(`SELECT status FROM particles WHERE experiment_id = $1 AND cycle_index = 0 AND particle_index = 1`, [experimentId]);
  assert.notEqual(particles[0]!.status, "completed");
  const jsm = await jetstreamManager(fleet.transport.connection);
  const onCpu = await jsm.streams.getMessage(fleet.transport.names.tasksStream, {
    last_by_subj: fleet.transport.names.taskSubject({ route: "cpu", experimentId, kind: "train-particle", cycle: 0, particle: 1 }),
  });
  assert.ok(onCpu, "particle 1 is queued on the cpu route");
  assert.equal((JSON.parse(new TextDecoder().decode(onCpu.data)) as { backend: string }).backend, "cpu");

  // The same particle from a cpu worker is then recorded as any result is.
  await fleet.transport.results.publish(particleResult(experimentId, 1, "cpu", weights));
  await waitFor("the cpu result to be recorded", async () => (await resultsOf()).length === 3, 30_000);
  assert.equal((await resultsOf())[2]!.worker_id, "cpu-worker");
});
