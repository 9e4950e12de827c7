/**
 * Recording a `swamp run` directory (schema/run-import.ts) as an experiment, through the services
 * the coordinator records fleet results with, in ONE transaction: a failed import stores nothing.
 *
 * A run is identified by its name, config hash and the sha256 of its rewind point (the first thing
 * it computes), kept as the experiment's `import_key`. Importing it again finds that experiment and
 * records only the cycles it does not hold yet (a partial run that progressed); a cycle already
 * held must be byte-for-byte the same (its averaged weights' sha256), else nothing is changed.
 *
 * The experiment ends `completed` when every planned cycle is in, else `failed` with the
 * partial-run reason: never queued or running, so the coordinator never schedules it.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { configHash, cycleCount, parseExperimentConfig, type ExperimentConfig } from "../../schema/config.js";
import { aliveInMask } from "../../schema/mask-bits.js";
import type { MetricPoint } from "../../schema/metrics.js";
import { runImportSchema, type BlobRef, type ImportedCycle, type RunImport, type RunImportResult } from "../../schema/run-import.js";
import { decodeStoredWeights } from "../../schema/weights-file.js";
import type { ArtifactStore, StoredBytes } from "../../transport/artifact-store.js";
import { MASK_FORMAT, TFJS_MODEL_FORMAT, TFJS_WEIGHTS_FORMAT, WEIGHTS_FORMAT } from "../../schema/artifact-formats.js";
import { ExperimentRow } from "../entities/experiment.js";
import { registerArtifact } from "./artifacts.js";
import { recordCycle, recordParticle, startCycle } from "./cycles.js";
import { InvalidInputError, type InputProblem } from "./errors.js";
import { createExperiment, invalidInputFromProblems, markExperimentStatus } from "./experiments.js";
import { appendMetrics, MAX_POINTS_PER_APPEND } from "./metrics.js";
import { inTransaction, type ServiceDeps, type Tx } from "./transaction.js";
import { findArtifact } from "../../transport/artifact-store.js";

/** The formats the fleet registers a cycle's TF.js model under (worker/fleet/execute-task.ts). */
/** `metrics.jsonl` as the run wrote it, one JSON metric point a line. */
const METRICS_FORMAT = "swamp-run-metrics-jsonl";

const metricLineSchema = z.object({
  task: z.string(),
  cycle: z.number().int().min(0).max(10_000),
  particle: z.number().int().min(0).max(1_000).optional(),
  key: z.string().min(1).max(100),
  step: z.number().int().min(0),
  epoch: z.number().finite(),
  value: z.number().finite(),
  time: z.number().finite(),
});

/** Why a partial run's experiment is `failed`: it is not running anywhere the server knows of. */
export function partialRunReason(done: number, planned: number): string {
  return `imported partial run: ${done} of ${planned} cycles; continue it with swamp run --resume and import it again`;
}

export interface ImportRunInput {
  /** The request body: a RunImport, unchecked. */
  manifest: unknown;
  /** The token name, as for experiments created over GraphQL. */
  owner: string | null;
}

export async function importRun(deps: ServiceDeps, store: ArtifactStore, input: ImportRunInput): Promise<RunImportResult> {
  const parsed = runImportSchema.safeParse(input.manifest);
  if (!parsed.success) {
    throw invalidInputFromProblems(
      "invalid run import",
      parsed.error.issues.map((issue) => ({ path: issue.path.length > 0 ? issue.path.join(".") : "(root)", message: issue.message })),
    );
  }
  const manifest = parsed.data;
  const configResult = parseExperimentConfig(manifest.config);
  if (!configResult.ok) throw invalidInputFromProblems("invalid experiment config", configResult.problems.map((p) => ({ path: `config.${p.path}`, message: p.message })));
  const config = configResult.config;
  checkCycleStructure(manifest, config);
  const blobs = await locateBlobs(store, manifest);
  const masks = await checkCycleContents(store, manifest.cycles, blobs);
  const metrics = manifest.metrics ? parseMetricLines(await readVerified(store, blobs, manifest.metrics, "metrics")) : [];
  const importKey = createHash("sha256").update(`${config.name}\n${configHash(config)}\n${manifest.rewind.sha256}`).digest("hex");

  return inTransaction(deps, async (tx) => {
    // Imports of one run wait for each other, so the second finds what the first created.
    await tx.manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [importKey]);
    const existing: Array<{ id: string }> = await tx.manager.query(`SELECT id FROM experiments WHERE import_key = $1 FOR UPDATE`, [importKey]);
    let experimentId: string;
    const created = existing.length === 0;
    if (created) {
      experimentId = (await createExperiment(tx, { config, owner: input.owner })).id;
      await tx.manager.query(`UPDATE experiments SET import_key = $2 WHERE id = $1`, [experimentId, importKey]);
      await registerBlob(tx, blobs, manifest.rewind, { experimentId, kind: "weights", format: WEIGHTS_FORMAT });
    } else {
      experimentId = existing[0]!.id;
    }
    const held = await heldCycles(tx, experimentId);
    let cyclesAdded = 0;
    for (const cycle of manifest.cycles) {
      const index = cycle.summary.cycle;
      const heldWeights = held.get(index);
      if (heldWeights !== undefined) {
        if (heldWeights !== cycle.weights.sha256) {
          throw InvalidInputError.single(`cycles.${index}.weights`, `differ from the averaged weights of cycle ${index} imported before (sha256 ${heldWeights}); this is not the same run`);
        }
        continue;
      }
      await recordImportedCycle(tx, blobs, experimentId, cycle, masks[index]!);
      cyclesAdded++;
    }
    const imported = new Set(manifest.cycles.map((c) => c.summary.cycle));
    const points = metrics.filter((p) => (p.task === "pretrain" ? created : imported.has(p.point.cycle) && !held.has(p.point.cycle))).map((p) => p.point);
    for (let start = 0; start < points.length; start += MAX_POINTS_PER_APPEND) await appendMetrics(tx, experimentId, points.slice(start, start + MAX_POINTS_PER_APPEND));
    // Each metrics.jsonl the points came from stays with the experiment (and goes with it), like the run's other files.
    const metricsKept = manifest.metrics
      ? await tx.manager.query(`SELECT 1 FROM artifacts WHERE experiment_id = $1 AND sha256 = $2 AND format = $3`, [experimentId, manifest.metrics.sha256, METRICS_FORMAT])
      : [];
    if (manifest.metrics && metricsKept.length === 0) {
      await registerBlob(tx, blobs, manifest.metrics, { experimentId, kind: "other", format: METRICS_FORMAT });
    }

    const planned = cycleCount(config);
    const done = held.size + cyclesAdded;
    const status = done === planned ? "completed" : "failed";
    const current = await tx.manager.getRepository(ExperimentRow).findOneByOrFail({ id: experimentId });
    if (current.status !== status || (status === "failed" && current.error !== partialRunReason(done, planned))) {
      await markExperimentStatus(tx, experimentId, status, { error: status === "completed" ? null : partialRunReason(done, planned) });
    }
    return { experimentId, created, cyclesAdded, cyclesCompleted: done, cyclesPlanned: planned, status };
  });
}

/** Cycles 0, 1, … in order, each with the config's particles 0, 1, …, and no more than planned. */
function checkCycleStructure(manifest: RunImport, config: ExperimentConfig): void {
  const problems: InputProblem[] = [];
  const planned = cycleCount(config);
  if (manifest.cycles.length > planned) problems.push({ path: "cycles", message: `holds ${manifest.cycles.length} cycles; the config plans ${planned}` });
  manifest.cycles.forEach((cycle, i) => {
    const at = `cycles.${i}`;
    const s = cycle.summary;
    if (s.cycle !== i) problems.push({ path: `${at}.summary.cycle`, message: `must be ${i} (cycles are imported in order from 0), got ${s.cycle}` });
    if (s.alive > s.total) problems.push({ path: `${at}.summary.alive`, message: `is more than total (${s.total})` });
    const layerTotal = s.layers.reduce((sum, layer) => sum + layer.total, 0);
    if (layerTotal !== s.total) problems.push({ path: `${at}.summary.layers`, message: `hold ${layerTotal} prunable weights, total says ${s.total}` });
    if (cycle.particles.length !== config.method.particles) {
      problems.push({ path: `${at}.particles`, message: `holds ${cycle.particles.length} particles; the config's method trains ${config.method.particles}` });
    }
    cycle.particles.forEach((particle, p) => {
      if (particle.summary.cycle !== i) problems.push({ path: `${at}.particles.${p}.summary.cycle`, message: `must be ${i}, got ${particle.summary.cycle}` });
      if (particle.summary.particle !== p) problems.push({ path: `${at}.particles.${p}.summary.particle`, message: `must be ${p}, got ${particle.summary.particle}` });
    });
    if ((cycle.tfjsModel === null) !== (cycle.tfjsWeights === null)) problems.push({ path: `${at}.tfjsWeights`, message: "the TF.js model and its weights come together or not at all" });
  });
  if (problems.length > 0) throw invalidInputFromProblems("invalid run import", problems);
}

/** Where every referenced blob is stored, by field path; every one must have been uploaded with its size. */
async function locateBlobs(store: ArtifactStore, manifest: RunImport): Promise<Map<string, StoredBytes>> {
  const refs: Array<[string, BlobRef]> = [["rewind", manifest.rewind]];
  if (manifest.metrics) refs.push(["metrics", manifest.metrics]);
  manifest.cycles.forEach((cycle, i) => {
    refs.push([`cycles.${i}.mask`, cycle.mask], [`cycles.${i}.weights`, cycle.weights]);
    if (cycle.tfjsModel) refs.push([`cycles.${i}.tfjsModel`, cycle.tfjsModel]);
    if (cycle.tfjsWeights) refs.push([`cycles.${i}.tfjsWeights`, cycle.tfjsWeights]);
    cycle.particles.forEach((particle, p) => particle.weights && refs.push([`cycles.${i}.particles.${p}.weights`, particle.weights]));
  });
  const problems: InputProblem[] = [];
  const found = new Map<string, StoredBytes>();
  const stored = await Promise.all(refs.map(([, ref]) => findArtifact(store, ref.sha256)));
  refs.forEach(([path, ref], i) => {
    const bytes = stored[i];
    if (!bytes) problems.push({ path, message: `sha256 ${ref.sha256} was not uploaded (PUT /import/blobs/${ref.sha256} first)` });
    else if (bytes.sizeBytes !== ref.size) problems.push({ path, message: `sha256 ${ref.sha256} is stored with ${bytes.sizeBytes} bytes, the import says ${ref.size}` });
    else found.set(ref.sha256, bytes);
  });
  if (problems.length > 0) throw invalidInputFromProblems("incomplete run import", problems);
  return found;
}

/** Reads a blob back and checks its sha256 (a store that lost or changed bytes must not be trusted). */
async function readVerified(store: ArtifactStore, blobs: Map<string, StoredBytes>, ref: BlobRef, path: string): Promise<Buffer> {
  const stream = await store.read(blobs.get(ref.sha256)!.location);
  const bytes = Buffer.concat((await stream.toArray()) as Buffer[]);
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== ref.sha256) throw InvalidInputError.single(path, `stored bytes hash to sha256 ${actual}, not ${ref.sha256}`);
  return bytes;
}

/**
 * Each cycle's mask and averaged weights must be the ones its summary describes: the mask's
 * surviving bits are the summary's `alive`, and the weights hold a kernel of the
 * summary's size for every prunable layer, zero wherever the mask pruned.
 */
async function checkCycleContents(store: ArtifactStore, cycles: readonly ImportedCycle[], blobs: Map<string, StoredBytes>): Promise<Uint8Array[]> {
  const masks: Uint8Array[] = [];
  for (const [i, cycle] of cycles.entries()) {
    const { summary } = cycle;
    const mask = await readVerified(store, blobs, cycle.mask, `cycles.${i}.mask`);
    let alive: number;
    try {
      alive = aliveInMask(mask, summary.total);
    } catch (error) {
      throw InvalidInputError.single(`cycles.${i}.mask`, (error as Error).message);
    }
    if (alive !== summary.alive) throw InvalidInputError.single(`cycles.${i}.mask`, `keeps ${alive} weights; cycle ${i}'s summary says ${summary.alive}`);
    const file = await readVerified(store, blobs, cycle.weights, `cycles.${i}.weights`);
    let decoded: ReturnType<typeof decodeStoredWeights>;
    try {
      decoded = decodeStoredWeights(file, `cycles.${i}.weights`, mask);
    } catch (error) {
      throw InvalidInputError.single(`cycles.${i}.weights`, `not a swamp weights file: ${(error as Error).message}`);
    }
    const position = new Map(decoded.entries.map((entry, at) => [entry.name, at]));
    let offset = 0;
    for (const layer of summary.layers) {
      const at = position.get(`${layer.layer}/kernel`);
      if (at === undefined || decoded.values[at]!.length !== layer.total) {
        throw InvalidInputError.single(`cycles.${i}.weights`, `hold no kernel of ${layer.total} weights for prunable layer ${layer.layer}`);
      }
      const values = decoded.values[at]!;
      for (let j = 0; j < values.length; j++, offset++) {
        if (((mask[offset >> 3]! >> (offset & 7)) & 1) === 0 && values[j] !== 0) {
          throw InvalidInputError.single(`cycles.${i}.mask`, `prunes weight ${j} of layer ${layer.layer}, which the averaged weights keep (${values[j]}); mask and weights are not of one run`);
        }
      }
    }
    masks.push(mask);
  }
  return masks;
}

interface MetricLine {
  task: string;
  point: MetricPoint;
}

function parseMetricLines(file: Buffer): MetricLine[] {
  const lines = file.toString("utf8").split("\n");
  const result: MetricLine[] = [];
  const problems: InputProblem[] = [];
  lines.forEach((line, i) => {
    if (line.trim().length === 0 || problems.length >= 10) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      problems.push({ path: `metrics.${i + 1}`, message: "line is not JSON" });
      return;
    }
    const parsed = metricLineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      problems.push({ path: `metrics.${i + 1}.${issue.path.join(".")}`, message: issue.message });
      return;
    }
    const { task, ...point } = parsed.data;
    result.push({ task, point });
  });
  if (problems.length > 0) throw invalidInputFromProblems("invalid metrics.jsonl", problems);
  return result;
}

/** Completed cycles of the experiment with the sha256 of their averaged weights. */
async function heldCycles(tx: Tx, experimentId: string): Promise<Map<number, string | null>> {
  const rows: Array<{ cycle_index: number; sha256: string | null }> = await tx.manager.query(
    `SELECT c.cycle_index, a.sha256 FROM cycles c LEFT JOIN artifacts a ON a.id = c.weights_artifact_id
      WHERE c.experiment_id = $1 AND c.status = 'completed'`,
    [experimentId],
  );
  return new Map(rows.map((row) => [row.cycle_index, row.sha256]));
}

async function registerBlob(
  tx: Tx,
  blobs: Map<string, StoredBytes>,
  ref: BlobRef,
  where: { experimentId: string; kind: "weights" | "mask" | "other"; format: string; cycleIndex?: number; particleIndex?: number },
): Promise<string> {
  const row = await registerArtifact(tx, { ...where, sizeBytes: ref.size, sha256: ref.sha256, location: blobs.get(ref.sha256)!.location });
  return row.id;
}

/** What the coordinator records for a cycle's particles and aggregate, from the run's files. */
async function recordImportedCycle(tx: Tx, blobs: Map<string, StoredBytes>, experimentId: string, cycle: ImportedCycle, mask: Uint8Array): Promise<void> {
  const { summary } = cycle;
  const cycleIndex = summary.cycle;
  const counts = { sparsity: summary.sparsity, aliveWeights: summary.alive, totalWeights: summary.total };
  const layers = summary.layers.map((layer) => ({ name: layer.layer, alive: layer.alive, total: layer.total }));
  await startCycle(tx, { experimentId, cycleIndex, ...counts, layers, mask, particleSeeds: cycle.particles.map((p) => p.summary.orderSeed) });
  for (const [p, particle] of cycle.particles.entries()) {
    const weightsArtifactId = particle.weights ? await registerBlob(tx, blobs, particle.weights, { experimentId, kind: "weights", format: WEIGHTS_FORMAT, cycleIndex, particleIndex: p }) : null;
    await recordParticle(tx, { experimentId, cycleIndex, particleIndex: p, status: "completed", accuracy: particle.summary.accuracy, loss: particle.summary.loss, weightsArtifactId });
  }
  if (cycleIndex > 0) await registerBlob(tx, blobs, cycle.mask, { experimentId, kind: "mask", format: MASK_FORMAT, cycleIndex });
  const weightsArtifactId = await registerBlob(tx, blobs, cycle.weights, { experimentId, kind: "weights", format: WEIGHTS_FORMAT, cycleIndex });
  if (cycle.tfjsModel) await registerBlob(tx, blobs, cycle.tfjsModel, { experimentId, kind: "other", format: TFJS_MODEL_FORMAT, cycleIndex });
  if (cycle.tfjsWeights) await registerBlob(tx, blobs, cycle.tfjsWeights, { experimentId, kind: "other", format: TFJS_WEIGHTS_FORMAT, cycleIndex });
  await recordCycle(tx, {
    experimentId,
    cycleIndex,
    accuracy: summary.accuracy,
    loss: summary.loss,
    ...counts,
    layers,
    mask,
    weightsArtifactId,
    timings: { cycle: Math.round(summary.seconds * 1000), train: Math.round(cycle.particles.reduce((sum, p) => sum + p.summary.seconds, 0) * 1000) },
    inference: summary.inference ?? null,
  });
}
