/** Aggregate-cycle: averages a cycle's particles, evaluates the average and prunes the next mask. */
import { z } from "zod";
import { inferenceProfileSchema } from "../../schema/inference-profile.js";
import { accuracy, artifactRefSchema, finite, layerCountSchema, nonNegativeInt, resultCommon, taskCommon, type ArtifactRef, type MessageProblem } from "../../schema/fleet-message-fields.js";
import type { ExperimentConfig } from "../../schema/config.js";
import type { ResultRecorder, TaskKindDescriptor } from "../task-kind.js";
import { cycleMask, cycleProblems } from "./cycle-bounds.js";

const taskSchema = z
  .object({
    ...taskCommon,
    kind: z.literal("aggregate-cycle"),
    cycle: nonNegativeInt,
    /** The last cycle is evaluated but not pruned further. */
    final: z.boolean(),
    inputs: z
      .object({
        /** The weights of particles 0..N-1, in particle order. */
        particleWeights: z.array(artifactRefSchema).min(1),
        mask: artifactRefSchema.nullable(),
      })
      .strict(),
  })
  .strict();

const successSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("succeeded"),
    kind: z.literal("aggregate-cycle"),
    cycle: nonNegativeInt,
    outputs: z
      .object({
        weights: artifactRefSchema,
        /** The mask of the next cycle; null after the final cycle. */
        nextMask: artifactRefSchema.nullable(),
        /**
         * The averaged model as `swamp run` writes it for `tf.loadLayersModel`: `model.json`
         * (its manifest names the weights file `weights.bin`) and that weights file. Optional:
         * workers from before they were stored leave them out.
         */
        tfjsModel: artifactRefSchema.optional(),
        tfjsWeights: artifactRefSchema.optional(),
      })
      .strict(),
    numbers: z
      .object({
        accuracy,
        loss: finite,
        sparsity: finite.min(0).max(1),
        alive: nonNegativeInt,
        total: nonNegativeInt,
        layers: z.array(layerCountSchema),
        seconds: finite.nonnegative(),
        /** The averaged model's inference profile (worker/profile/); workers from before it leave it out. */
        inference: inferenceProfileSchema.optional(),
      })
      .strict()
      .refine((numbers) => numbers.alive <= numbers.total, { message: "alive must not exceed total", path: ["alive"] }),
  })
  .strict();

export const aggregateCycleKind = {
  name: "aggregate-cycle",
  coordinates: ["cycle"],
  taskSchema,
  successSchema,
  stage: (cycle: number) => 2 + 2 * cycle,
  taskProblems(task: z.output<typeof taskSchema>): MessageProblem[] {
    const problems = cycleProblems(task);
    const lastCycle = task.config.pruning.cycles;
    const particles = task.config.method.particles;
    if (task.inputs.particleWeights.length !== particles) {
      problems.push({ path: "inputs.particleWeights", message: `must hold one reference per particle (${particles})` });
    }
    if (task.final !== (task.cycle === lastCycle)) {
      problems.push({ path: "final", message: `must be ${task.cycle === lastCycle} for cycle ${task.cycle} of 0..${lastCycle}` });
    }
    return problems;
  },
  describe: ({ cycle }) => `the aggregate of cycle ${cycle}`,
  plan: {
    places: (_config, cycle) => [{ cycle }],
    /** Averages the cycle's particles, in particle order, under the mask they trained with. */
    tasks(ledger, cycle) {
      const { experimentId, config } = ledger;
      const { mask } = cycleMask(ledger, cycle);
      const particleWeights = Array.from({ length: config.method.particles }, (_, particle) => ledger.result("train-particle", cycle, particle)?.outputs.weights);
      if (!particleWeights.every((weights) => weights)) throw ledger.inconsistent(`a recorded particle of cycle ${cycle} has no weights`);
      return { tasks: [{ kind: "aggregate-cycle" as const, experimentId, config, cycle, final: cycle === config.pruning.cycles, inputs: { particleWeights: particleWeights as ArtifactRef[], mask } }] };
    },
    standing: (cycle, recorded) => (recorded > 0 ? `cycle ${cycle} is already aggregated` : `cycle ${cycle} is not aggregated`),
  },
  runDirectory: {
    done: (layout, { cycle }) => [layout.cycleSummary(cycle!)],
    outputs: {
      weights: (layout, { cycle }) => layout.averageWeights(cycle!),
      nextMask: (layout, { cycle }) => layout.mask(cycle! + 1),
    },
  },
  inputArtifacts: { particleWeights: "weights", mask: "mask" },
  outputArtifacts: { weights: "weights", nextMask: "mask" },
  resultFailure(config: ExperimentConfig, result: z.output<typeof successSchema>): string | undefined {
    const final = result.cycle === config.pruning.cycles;
    if (final && result.outputs.nextMask !== null) return `the aggregate of the last cycle (${result.cycle}) reported a next mask`;
    if (!final && result.outputs.nextMask === null) return `the aggregate of cycle ${result.cycle} reported no next mask`;
    return undefined;
  },
  async record(result: z.output<typeof successSchema>, recorder: ResultRecorder): Promise<void> {
    const { cycle, numbers, outputs } = result;
    const weights = await recorder.artifact(outputs.weights, "weights", cycle, null);
    if (outputs.nextMask) await recorder.artifact(outputs.nextMask, "mask", cycle + 1, null);
    // The TF.js copy of the averaged model (model.json names the weights file weights.bin).
    if (outputs.tfjsModel) await recorder.artifact(outputs.tfjsModel, "other", cycle, null);
    if (outputs.tfjsWeights) await recorder.artifact(outputs.tfjsWeights, "other", cycle, null);
    await recorder.cycleAggregated({ cycle, ...numbers, weightsArtifactId: weights.id });
  },
} as const satisfies TaskKindDescriptor<"aggregate-cycle", typeof taskSchema, typeof successSchema>;
