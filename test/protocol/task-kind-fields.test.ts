/**
 * What the generic code reads from the descriptors: their artifact fields name real inputs and
 * outputs of their schemas, and the checks, descriptions and completion the coordinator uses.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { completesExperiment } from "../../protocol/plan.js";
import { describeTask, descriptorOf, judgeResult, outputRefs, TASK_KIND_DESCRIPTORS } from "../../protocol/task-kinds.js";
import { FLEET_MESSAGE_VERSION, taskIdFor, type AggregateCycleSuccess } from "../../schema/fleet-messages.js";
import { particleResult, ref, testConfig } from "../transport/support/fleet-fixtures.js";

function objectKeys(schema: z.ZodTypeAny): string[] {
  let inner = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional || inner instanceof z.ZodEffects) {
    inner = inner instanceof z.ZodEffects ? inner.innerType() : (inner._def.innerType as z.ZodTypeAny);
  }
  assert.ok(inner instanceof z.ZodObject, "an object schema");
  return Object.keys((inner as z.AnyZodObject).shape);
}

function aggregateResult(cycle: number, nextMask: boolean): AggregateCycleSuccess {
  const experimentId = "exp-1";
  return {
    version: FLEET_MESSAGE_VERSION,
    outcome: "succeeded",
    kind: "aggregate-cycle",
    taskId: taskIdFor({ experimentId, kind: "aggregate-cycle", cycle }),
    experimentId,
    workerId: "worker-1",
    attempt: 1,
    finishedAt: 1_700_000_000_000,
    cycle,
    outputs: { weights: ref("a"), nextMask: nextMask ? ref("b") : null, tfjsModel: ref("c") },
    numbers: { accuracy: 0.5, loss: 1, sparsity: 0.2, alive: 8, total: 10, layers: [], seconds: 1 },
  };
}

describe("task-kind descriptor fields", () => {
  for (const descriptor of TASK_KIND_DESCRIPTORS) {
    it(`${descriptor.name}: its artifact inputs and outputs are fields of its schemas`, () => {
      const generic = descriptorOf(descriptor.name);
      // A kind that declares no artifact inputs (or outputs) may have no such field at all (analyze).
      const inputs = generic.inputArtifacts ? objectKeys((descriptor.taskSchema as z.AnyZodObject).shape.inputs) : [];
      const outputs = generic.outputArtifacts ? objectKeys((descriptor.successSchema as z.AnyZodObject).shape.outputs) : [];
      for (const name of Object.keys(generic.inputArtifacts ?? {})) assert.ok(inputs.includes(name), `input ${name}`);
      for (const name of Object.keys(generic.outputArtifacts ?? {})) assert.ok(outputs.includes(name), `output ${name}`);
    });
  }

  for (const descriptor of TASK_KIND_DESCRIPTORS) {
    it(`${descriptor.name}: a planned kind says where swamp run keeps it, naming outputs of its result`, () => {
      const generic = descriptorOf(descriptor.name);
      assert.equal(generic.runDirectory !== undefined, generic.plan !== undefined);
      const outputs = objectKeys((descriptor.successSchema as z.AnyZodObject).shape.outputs);
      for (const name of Object.keys(generic.runDirectory?.outputs ?? {})) assert.ok(outputs.includes(name), `output ${name}`);
    });
  }

  it("plans every kind but analyze, which is queued on request", () => {
    assert.deepEqual(
      TASK_KIND_DESCRIPTORS.filter((descriptor) => descriptorOf(descriptor.name).plan === undefined).map((descriptor) => descriptor.name),
      ["analyze"],
    );
  });

  it("describes each kind's tasks for people", () => {
    assert.equal(describeTask({ kind: "pretrain" }), "pretraining to the rewind point");
    assert.equal(describeTask({ kind: "train-particle", cycle: 3, particle: 2 }), "particle 2 of cycle 3");
    assert.equal(describeTask({ kind: "aggregate-cycle", cycle: 3 }), "the aggregate of cycle 3");
  });

  it("judges results by their coordinates, then by the kind's own check", () => {
    const lastCycle = testConfig.pruning.cycles;
    assert.deepEqual(judgeResult(testConfig, particleResult("exp-1", 0, 1)), { kind: "ok" });
    assert.equal(judgeResult(testConfig, particleResult("exp-1", lastCycle + 1, 0)).kind, "ignore");
    assert.equal(judgeResult(testConfig, particleResult("exp-1", 0, testConfig.method.particles)).kind, "ignore");
    assert.deepEqual(judgeResult(testConfig, aggregateResult(0, true)), { kind: "ok" });
    assert.deepEqual(judgeResult(testConfig, aggregateResult(0, false)), { kind: "fail", reason: "the aggregate of cycle 0 reported no next mask" });
    assert.deepEqual(judgeResult(testConfig, aggregateResult(lastCycle, true)), { kind: "fail", reason: `the aggregate of the last cycle (${lastCycle}) reported a next mask` });
  });

  it("lists a result's artifacts in output order, leaving out absent ones", () => {
    assert.deepEqual(
      outputRefs(aggregateResult(0, false)).map(([name]) => name),
      ["weights", "tfjsModel"],
    );
    assert.deepEqual(outputRefs(aggregateResult(0, true)).map(([name]) => name), ["weights", "nextMask", "tfjsModel"]);
  });

  it("completes the experiment with the last cycle's aggregate only", () => {
    const lastCycle = testConfig.pruning.cycles;
    assert.equal(completesExperiment(testConfig, { kind: "aggregate-cycle", cycle: lastCycle }), true);
    assert.equal(completesExperiment(testConfig, { kind: "aggregate-cycle", cycle: lastCycle - 1 }), false);
    assert.equal(completesExperiment(testConfig, { kind: "train-particle", cycle: lastCycle }), false);
    assert.equal(completesExperiment(testConfig, { kind: "pretrain" }), false);
  });

  it("marks only particle training as a particle's own work", () => {
    assert.deepEqual(
      TASK_KIND_DESCRIPTORS.filter((descriptor) => descriptorOf(descriptor.name).ownsParticle).map((descriptor) => descriptor.name),
      ["train-particle"],
    );
  });
});
