/** Train-particle: one particle of a cycle, trained from the rewind point under the cycle's mask. */
import { z } from "zod";
import { accuracy, artifactRefSchema, finite, nonNegativeInt, resultCommon, taskCommon, type MessageProblem } from "../../schema/fleet-message-fields.js";
import type { ResultRecorder, TaskKindDescriptor } from "../task-kind.js";
import { cycleProblems } from "./cycle-bounds.js";

const taskSchema = z
  .object({
    ...taskCommon,
    kind: z.literal("train-particle"),
    cycle: nonNegativeInt,
    particle: nonNegativeInt,
    inputs: z
      .object({
        /** The rewind point θ_T0 written by the pretrain task. */
        rewindWeights: artifactRefSchema,
        /** The cycle's mask; null means dense (allowed in cycle 0 only). */
        mask: artifactRefSchema.nullable(),
      })
      .strict(),
  })
  .strict();

const successSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("succeeded"),
    kind: z.literal("train-particle"),
    cycle: nonNegativeInt,
    particle: nonNegativeInt,
    outputs: z.object({ weights: artifactRefSchema }).strict(),
    numbers: z
      .object({
        orderSeed: nonNegativeInt.max(2 ** 32 - 1),
        accuracy,
        loss: finite,
        epochLosses: z.array(finite),
        swaSnapshots: nonNegativeInt,
        seconds: finite.nonnegative(),
        examplesPerSecond: finite.nonnegative(),
      })
      .strict(),
  })
  .strict();

export const trainParticleKind = {
  name: "train-particle",
  coordinates: ["cycle", "particle"],
  taskSchema,
  successSchema,
  stage: (cycle: number) => 1 + 2 * cycle,
  taskProblems(task: z.output<typeof taskSchema>): MessageProblem[] {
    const problems = cycleProblems(task);
    const particles = task.config.method.particles;
    if (task.particle >= particles) problems.push({ path: "particle", message: `must be less than config.method.particles (${particles})` });
    return problems;
  },
  describe: ({ cycle, particle }) => `particle ${particle} of cycle ${cycle}`,
  inputArtifacts: { rewindWeights: "weights", mask: "mask" },
  outputArtifacts: { weights: "weights" },
  ownsParticle: true,
  async record(result: z.output<typeof successSchema>, recorder: ResultRecorder): Promise<void> {
    const weights = await recorder.artifact(result.outputs.weights, "weights", result.cycle, result.particle);
    const { accuracy, loss, orderSeed } = result.numbers;
    await recorder.particleCompleted({ cycle: result.cycle, particle: result.particle, accuracy, loss, orderSeed, weightsArtifactId: weights.id });
  },
} as const satisfies TaskKindDescriptor<"train-particle", typeof taskSchema, typeof successSchema>;
