/** The coordinator's derivation of next tasks from a ledger, stage by stage. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { requireExperimentConfig } from "../../schema/config.js";
import { createTaskMessage, taskIdFor, type ArtifactRef, type TaskIdentity } from "../../schema/fleet-messages.js";
import { InconsistentLedgerError, planNextTasks, stageOf, taskStanding, type LedgerEntry, type LedgerFacts } from "../../protocol/plan.js";
import { aliveInMask, denseMaskBits } from "../../schema/mask-bits.js";

const experimentId = "0b6c1c1e-6f3a-4f55-9d1e-2f4c1b7a9e10";
const config = requireExperimentConfig({ name: "plan", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "swamp", particles: 3 }, pruning: { cycles: 2 } });
const ref = (fill: string): ArtifactRef => ({ sha256: fill.repeat(64), size: 100, format: "swamp-weights" });

const pretrain: LedgerEntry = { kind: "pretrain", cycle: null, particle: null, outputs: { weights: ref("a") }, numbers: {} };
const particle = (cycle: number, index: number): LedgerEntry => ({ kind: "train-particle", cycle, particle: index, outputs: { weights: ref(String(index + 1)) }, numbers: {} });
const aggregate = (cycle: number, nextMask: ArtifactRef | null): LedgerEntry => ({ kind: "aggregate-cycle", cycle, particle: null, outputs: { weights: ref("f"), nextMask }, numbers: { total: 266200 } });

const plan = (ledger: LedgerEntry[]) => planNextTasks({ experimentId, config, ledger });

describe("planNextTasks", () => {
  it("starts with pretraining", () => {
    const next = plan([]);
    assert.equal(next.kind, "tasks");
    assert.equal(next.stage, 0);
    assert.deepEqual(next.kind === "tasks" && next.tasks.map((t) => createTaskMessage(t).taskId), [`${experimentId}:pretrain`]);
  });

  it("then trains every particle of cycle 0 from the rewind point, dense", () => {
    const next = plan([pretrain]);
    assert.ok(next.kind === "tasks");
    assert.equal(next.stage, 1);
    assert.deepEqual(next.particleCycle, { cycle: 0, mask: null, previousTotalWeights: null });
    const tasks = next.tasks.map(createTaskMessage);
    assert.deepEqual(tasks.map((t) => t.taskId), [0, 1, 2].map((p) => `${experimentId}:train-particle:0:${p}`));
    for (const task of tasks) assert.deepEqual(task.kind === "train-particle" && task.inputs, { rewindWeights: ref("a"), mask: null });
  });

  it("plans only the particles that are missing", () => {
    const next = plan([pretrain, particle(0, 1)]);
    assert.ok(next.kind === "tasks");
    assert.deepEqual(next.tasks.map((t) => createTaskMessage(t).taskId), [0, 2].map((p) => `${experimentId}:train-particle:0:${p}`));
  });

  it("aggregates once all particles are in, with their weights in particle order", () => {
    const next = plan([pretrain, particle(0, 2), particle(0, 0), particle(0, 1)]);
    assert.ok(next.kind === "tasks");
    assert.equal(next.stage, 2);
    const [task] = next.tasks.map(createTaskMessage);
    assert.ok(task?.kind === "aggregate-cycle");
    assert.equal(task.final, false);
    assert.deepEqual(task.inputs.particleWeights, [ref("1"), ref("2"), ref("3")]);
  });

  it("trains the next cycle under the mask the aggregate produced", () => {
    const mask = ref("b");
    const next = plan([pretrain, particle(0, 0), particle(0, 1), particle(0, 2), aggregate(0, mask)]);
    assert.ok(next.kind === "tasks");
    assert.equal(next.stage, 3);
    assert.deepEqual(next.particleCycle, { cycle: 1, mask, previousTotalWeights: 266200 });
    assert.ok(next.tasks.every((t) => t.kind === "train-particle" && t.cycle === 1 && t.inputs.mask === mask));
  });

  it("marks the last cycle's aggregate final, and then the experiment complete", () => {
    const through = (cycles: number) => [pretrain, ...Array.from({ length: cycles }, (_, c) => [particle(c, 0), particle(c, 1), particle(c, 2), aggregate(c, c < 2 ? ref("b") : null)]).flat()];
    const last = plan(through(2).concat([particle(2, 0), particle(2, 1), particle(2, 2)]));
    assert.ok(last.kind === "tasks" && last.tasks[0]!.kind === "aggregate-cycle" && last.tasks[0]!.final);
    assert.deepEqual(plan(through(3)), { kind: "complete", stage: Number.POSITIVE_INFINITY });
  });

  it("counts a stage as done once a later one has results (a run directory keeps no particles of finished cycles)", () => {
    const next = plan([pretrain, aggregate(0, ref("b")), particle(1, 1)]);
    assert.ok(next.kind === "tasks");
    assert.deepEqual(next.tasks.map((t) => createTaskMessage(t).taskId), [0, 2].map((p) => `${experimentId}:train-particle:1:${p}`));
  });

  it("refuses a ledger whose non-final aggregate left no mask", () => {
    assert.throws(() => plan([pretrain, particle(0, 0), particle(0, 1), particle(0, 2), aggregate(0, null)]), InconsistentLedgerError);
  });

  it("orders stages so that a task's follow-ups are exactly the later ones", () => {
    assert.deepEqual(
      [stageOf({ kind: "pretrain" }), stageOf({ kind: "train-particle", cycle: 0 }), stageOf({ kind: "aggregate-cycle", cycle: 0 }), stageOf({ kind: "train-particle", cycle: 1 })],
      [0, 1, 2, 3],
    );
  });
});

describe("mask bits", () => {
  it("counts the alive weights of a packed mask, ignoring padding", () => {
    assert.equal(aliveInMask(denseMaskBits(13), 13), 13);
    assert.equal(aliveInMask(Uint8Array.of(0b1010_0101, 0xff), 12), 4 + 4);
    assert.throws(() => aliveInMask(Uint8Array.of(1), 13), /expected 2/);
  });
});

describe("taskStanding", () => {
  /** The facts ledgerFacts reads from the database, taken from an in-memory ledger instead. */
  const factsOf = (ledger: LedgerEntry[], identity: TaskIdentity): LedgerFacts => {
    const counts = new Map<string, { kind: string; cycle: number | null; count: number }>();
    for (const entry of ledger) {
      const key = `${entry.kind}:${entry.cycle}`;
      counts.set(key, { kind: entry.kind, cycle: entry.cycle, count: (counts.get(key)?.count ?? 0) + 1 });
    }
    return {
      recorded: ledger.some((e) => e.kind === identity.kind && e.cycle === (identity.cycle ?? null) && e.particle === (identity.particle ?? null)),
      results: [...counts.values()],
    };
  };
  /** Every task the experiment has, and two it does not (a cycle and a particle too many). */
  const identities: TaskIdentity[] = [
    { experimentId, kind: "pretrain" },
    ...[0, 1, 2, 3].flatMap((cycle): TaskIdentity[] => [
      ...[0, 1, 2, 3].map((p): TaskIdentity => ({ experimentId, kind: "train-particle", cycle, particle: p })),
      { experimentId, kind: "aggregate-cycle", cycle },
    ]),
  ];

  it("calls due exactly the tasks planNextTasks queues, at every point of an experiment", () => {
    // The ledger as it grows, result by result, with the particles of each cycle arriving out of order.
    const ledger: LedgerEntry[] = [];
    const growth: LedgerEntry[] = [pretrain];
    for (let cycle = 0; cycle <= config.pruning.cycles; cycle++) {
      growth.push(particle(cycle, 2), particle(cycle, 0), particle(cycle, 1), aggregate(cycle, cycle === config.pruning.cycles ? null : ref("e")));
    }
    for (const next of [undefined, ...growth]) {
      if (next) ledger.push(next);
      const planned = plan(ledger);
      const expected = planned.kind === "tasks" ? planned.tasks.map((t) => createTaskMessage(t).taskId).sort() : [];
      const due = identities.filter((identity) => taskStanding(config, identity, factsOf(ledger, identity)).kind === "due").map((identity) => taskIdFor(identity)).sort();
      assert.deepEqual(due, expected, `after ${ledger.length} result(s)`);
      for (const identity of identities) {
        const recorded = factsOf(ledger, identity).recorded;
        assert.equal(taskStanding(config, identity, factsOf(ledger, identity)).kind === "recorded", recorded);
      }
    }
  });
});
