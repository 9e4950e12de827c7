/**
 * Upgrading a fleet from before task routes (issue 18), with real NATS and PostgreSQL: tasks the
 * old version queued on route-less subjects (`swamp.tasks.<experiment>.<kind>.<cycle>.<particle>`),
 * which no route's consumer takes, are removed when the new server starts, and the unfinished
 * experiment's tasks are queued again from the ledger on its route; a legacy task of an experiment
 * that no longer exists is dropped.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { pretrainTask } from "../transport/support/fleet-fixtures.js";
import { startFleet, tinyConfig, type Fleet } from "./support/fleet.js";

const fleets: Fleet[] = [];

after(async () => {
  // The upgraded server's fleet drops the database they share; the old one's only closes.
  const [old, upgraded] = fleets;
  await upgraded?.close();
  await old?.close({ keepDatabase: upgraded !== undefined });
});

/** The route-less subject the version before task routes queued a task on. */
function legacySubject(namespace: string, taskId: string): string {
  const [experimentId, kind, cycle, particle] = taskId.split(":");
  return `${namespace}.swamp.tasks.${experimentId}.${kind}.${cycle ?? "_"}.${particle ?? "_"}`;
}

test("tasks queued on the subjects of the version before routes are queued again on their routes, none lost", async () => {
  const old = await startFleet({ label: "legacy" });
  fleets.push(old);
  const experimentId = await old.submit(tinyConfig({ name: "queued-before-upgrade", seed: 31 }));
  const taskId = `${experimentId}:pretrain`;
  const jsm = await jetstreamManager(old.transport.connection);
  const names = old.transport.names;
  // What the old version left: the task without a route on its route-less subject, and one of an experiment since deleted.
  const routed = await jsm.streams.getMessage(names.tasksStream, { last_by_subj: names.taskSubject({ route: "any", experimentId, kind: "pretrain" }) });
  assert.ok(routed, "the new server queued the pretrain task on the any route");
  const { backend: _route, ...legacyTask } = JSON.parse(new TextDecoder().decode(routed.data)) as Record<string, unknown>;
  await old.transport.tasks.removeExperiment(experimentId);
  const js = jetstream(old.transport.connection);
  await js.publish(legacySubject(old.namespace, taskId), JSON.stringify(legacyTask));
  const gone = pretrainTask(randomUUID());
  const { backend: _goneRoute, ...goneLegacy } = gone as unknown as Record<string, unknown>;
  await js.publish(legacySubject(old.namespace, gone.taskId), JSON.stringify(goneLegacy));
  const legacySubjects = async () => Object.keys((await jsm.streams.info(names.tasksStream, { subjects_filter: names.legacyTasksFilter })).state.subjects ?? {});
  assert.equal((await legacySubjects()).length, 2);
  assert.deepEqual(await old.transport.tasks.queuedTaskIds(experimentId), [], "no route's consumer sees the legacy task");
  await old.stopServer();

  const upgraded = await startFleet({ label: "legacy", namespace: old.namespace, database: old.database });
  fleets.push(upgraded);
  const upgradedJsm = await jetstreamManager(upgraded.transport.connection);
  const left = Object.keys((await upgradedJsm.streams.info(names.tasksStream, { subjects_filter: names.legacyTasksFilter })).state.subjects ?? {});
  assert.deepEqual(left, [], "the legacy subjects are purged");
  assert.deepEqual(await upgraded.transport.tasks.queuedTaskIds(experimentId), [taskId], "queued again, on a route");
  assert.deepEqual(await upgraded.transport.tasks.queuedTaskIds(gone.experimentId), [], "a task of a deleted experiment is not queued again");
  const requeued = await upgradedJsm.streams.getMessage(names.tasksStream, { last_by_subj: names.taskSubject({ route: "any", experimentId, kind: "pretrain" }) });
  assert.equal((JSON.parse(new TextDecoder().decode(requeued!.data)) as { taskId: string }).taskId, taskId);
  assert.ok(
    upgraded.lines.some((line) => line.includes("removed 2 task(s) an older version queued without a route") && line.includes(experimentId) && line.includes(gone.experimentId)),
    upgraded.lines.join("\n"),
  );
  assert.ok(["queued", "running"].includes((await upgraded.experiment(experimentId)).status));
});
