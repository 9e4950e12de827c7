/** Train-particle: one particle of a cycle, trained from the rewind point under the cycle's mask. */
import { z } from "zod";
import { accuracy, artifactRefSchema, finite, nonNegativeInt, resultCommon, taskCommon, type MessageProblem } from "../../schema/fleet-message-fields.js";
import type { ResultRecorder, TaskKindDescriptor } from "../task-kind.js";
import { cycleMask, cycleProblems } from "./cycle-bounds.js";

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
  plan: {
    places: (config, cycle) => Array.from({ length: config.method.particles }, (_, particle) => ({ cycle, particle })),
    /** Every particle trains from the rewind point under the mask the previous cycle's aggregate left (dense in cycle 0). */
    tasks(ledger, cycle) {
      const { experimentId, config } = ledger;
      const rewindWeights = ledger.result("pretrain")?.outputs.weights;
      if (!rewindWeights) throw ledger.inconsistent("the recorded pretrain result has no weights");
      const { mask, previous } = cycleMask(ledger, cycle);
      const previousTotalWeights = typeof previous?.numbers.total === "number" ? previous.numbers.total : null;
      const tasks = Array.from({ length: config.method.particles }, (_, particle) => ({
        kind: "train-particle" as const,
        experimentId,
        config,
        cycle,
        particle,
        inputs: { rewindWeights, mask },
      }));
      return { tasks, particleCycle: { cycle, mask, previousTotalWeights } };
    },
    standing: (cycle, recorded, config) => `cycle ${cycle} has ${recorded} of its ${config.method.particles} particles`,
  },
  runDirectory: {
    done: (layout, { cycle, particle }) => [layout.particleSummary(cycle!, particle!), layout.particleWeights(cycle!, particle!)],
    outputs: { weights: (layout, { cycle, particle }) => layout.particleWeights(cycle!, particle!) },
  },
  inputArtifacts: { rewindWeights: "weights", mask: "mask" },
  outputArtifacts: { weights: "weights" },
  ownsParticle: true,
  async record(result: z.output<typeof successSchema>, recorder: ResultRecorder): Promise<void> {
    const weights = await recorder.artifact(result.outputs.weights, "weights", result.cycle, result.particle);
    const { accuracy, loss, orderSeed } = result.numbers;
    await recorder.particleCompleted({ cycle: result.cycle, particle: result.particle, accuracy, loss, orderSeed, weightsArtifactId: weights.id });
  },
} as const satisfies TaskKindDescriptor<"train-particle", typeof taskSchema, typeof successSchema>;
