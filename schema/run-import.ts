/**
 * What `swamp import` sends a server to record a `swamp run` directory (worker/run/run-layout.ts)
 * as an experiment: the files' JSON as the run wrote it, and every binary file as a reference to
 * bytes uploaded before (`PUT /import/blobs/<sha256>`). Shared by the CLI, which builds it, and
 * the server, which checks it (field paths as in `cycles.3.particles.1.weights`) before storing
 * anything.
 */
import { z } from "zod";
import { inferenceProfileSchema } from "./inference-profile.js";

/** Uploaded bytes, named by their content. */
export const blobRefSchema = z
  .object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
    size: z.number().int().min(0),
  })
  .strict();
export type BlobRef = z.infer<typeof blobRefSchema>;

const unitInterval = z.number().min(0).max(1);

/** A finished particle: its `particle-P.json` (extra fields are kept out) and `particle-P.swt` (null where `storage.keep` deleted it). */
export const importedParticleSchema = z.object({
  summary: z.object({
    cycle: z.number().int().min(0),
    particle: z.number().int().min(0),
    orderSeed: z.number().int(),
    accuracy: unitInterval,
    loss: z.number().finite(),
    seconds: z.number().finite().min(0),
  }),
  weights: blobRefSchema.nullable(),
});

/** A finished cycle: its `cycle.json`, mask, averaged weights, TF.js model and particles. */
export const importedCycleSchema = z.object({
  summary: z.object({
    cycle: z.number().int().min(0),
    sparsity: z.number().min(0).lt(1),
    accuracy: unitInterval,
    loss: z.number().finite(),
    alive: z.number().int().min(0),
    total: z.number().int().min(1),
    layers: z.array(z.object({ layer: z.string().min(1).max(200), alive: z.number().int().min(0), total: z.number().int().min(0) })).max(1000),
    seconds: z.number().finite().min(0),
    /** Absent in runs made with --no-profile or before profiles existed. */
    inference: inferenceProfileSchema.optional(),
  }),
  mask: blobRefSchema,
  weights: blobRefSchema,
  tfjsModel: blobRefSchema.nullable(),
  tfjsWeights: blobRefSchema.nullable(),
  particles: z.array(importedParticleSchema).max(1000),
});

export const runImportSchema = z
  .object({
    /** `config.json`; validated by the experiment config schema. */
    config: z.unknown(),
    /** `rewind.swt`: the pretraining's result, which with the config identifies the run. */
    rewind: blobRefSchema,
    /** `metrics.jsonl`, or null when the run wrote none. */
    metrics: blobRefSchema.nullable(),
    /** The run's finished cycles from cycle 0 on (a partial run has fewer than the config plans). */
    cycles: z.array(importedCycleSchema).max(10_001),
  })
  .strict();
export type RunImport = z.infer<typeof runImportSchema>;
export type ImportedCycle = z.infer<typeof importedCycleSchema>;

/** What the server answers. */
export interface RunImportResult {
  experimentId: string;
  /** False when an earlier import of this run was found. */
  created: boolean;
  /** Cycles this import recorded (0 when everything was there already). */
  cyclesAdded: number;
  cyclesCompleted: number;
  cyclesPlanned: number;
  status: "completed" | "failed";
}
