/** The task-kind registry: every kind's id format round-trips, and its stages keep the protocol's order. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TASK_KIND_DESCRIPTORS, TASK_KINDS } from "../../protocol/task-kinds.js";
import { stageOf } from "../../protocol/plan.js";
import { parseTaskId, taskIdFor, type TaskIdentity } from "../../schema/fleet-messages.js";

const experimentId = "exp-1";

function identityOf(kind: (typeof TASK_KINDS)[number], coordinates: readonly string[]): TaskIdentity {
  const identity: TaskIdentity = { experimentId, kind };
  coordinates.forEach((coordinate, i) => (identity[coordinate as "cycle" | "particle"] = 3 + i));
  return identity;
}

describe("task-kind registry", () => {
  it("names every kind once, in registry order", () => {
    assert.deepEqual(TASK_KINDS, TASK_KIND_DESCRIPTORS.map((descriptor) => descriptor.name));
    assert.equal(new Set(TASK_KINDS).size, TASK_KINDS.length);
  });

  for (const descriptor of TASK_KIND_DESCRIPTORS) {
    it(`${descriptor.name}: the task id holds the kind's coordinates and parses back`, () => {
      const identity = identityOf(descriptor.name, descriptor.coordinates);
      const id = taskIdFor(identity);
      assert.equal(id, [experimentId, descriptor.name, ...descriptor.coordinates.map((coordinate) => String(identity[coordinate]))].join(":"));
      assert.deepEqual(parseTaskId(id), identity);
      assert.equal(parseTaskId(`${id}:0`), undefined, "an extra coordinate is not a task id");
    });
  }

  it("orders stages pretrain, then per cycle its particles before its aggregate", () => {
    assert.ok(stageOf({ kind: "pretrain" }) < stageOf({ kind: "train-particle", cycle: 0 }));
    for (let cycle = 0; cycle < 3; cycle++) {
      assert.ok(stageOf({ kind: "train-particle", cycle }) < stageOf({ kind: "aggregate-cycle", cycle }));
      assert.ok(stageOf({ kind: "aggregate-cycle", cycle }) < stageOf({ kind: "train-particle", cycle: cycle + 1 }));
    }
  });
});
