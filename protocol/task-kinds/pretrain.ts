/** Pretrain: trains the dense network to the rewind point θ_T0 every cycle restarts from. */
import { z } from "zod";
import { artifactRefSchema, finite, resultCommon, taskCommon } from "../../schema/fleet-message-fields.js";
import type { ResultRecorder, TaskKindDescriptor } from "../task-kind.js";

const taskSchema = z.object({ ...taskCommon, kind: z.literal("pretrain"), inputs: z.object({}).strict().default({}) }).strict();

const successSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("succeeded"),
    kind: z.literal("pretrain"),
    outputs: z.object({ weights: artifactRefSchema }).strict(),
    numbers: z.object({ seconds: finite.nonnegative() }).strict(),
  })
  .strict();

export const pretrainKind = {
  name: "pretrain",
  coordinates: [],
  taskSchema,
  successSchema,
  stage: () => 0,
  taskProblems: () => [],
  describe: () => "pretraining to the rewind point",
  plan: {
    places: () => [{}],
    tasks: (ledger) => ({ tasks: [{ kind: "pretrain", experimentId: ledger.experimentId, config: ledger.config, inputs: {} }] }),
    standing: (_cycle, recorded) => (recorded > 0 ? "pretraining is done" : "pretraining is not done"),
  },
  runDirectory: {
    done: (layout) => [layout.rewindWeights],
    outputs: { weights: (layout) => layout.rewindWeights },
  },
  outputArtifacts: { weights: "weights" },
  async record(result: z.output<typeof successSchema>, recorder: ResultRecorder): Promise<void> {
    await recorder.artifact(result.outputs.weights, "weights", null, null);
  },
} as const satisfies TaskKindDescriptor<"pretrain", typeof taskSchema, typeof successSchema>;
