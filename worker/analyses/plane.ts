/**
 * The loss landscape on the plane through three stored models (default: two particles and their
 * average): origin models[0], u the unit vector towards models[1], v the Gram–Schmidt remainder of
 * models[2] − models[0], both over every trainable weight (BatchNorm running statistics are not
 * coordinates: they are recomputed at every grid point). The G×G grid covers the three models'
 * coordinates plus a margin on each side; the train loss is measured on a fixed seeded subset of
 * the training images (input.trainExamples, 2048 by default) to keep 625 points affordable.
 */
import type { AnalysisInput, AnalysisResult } from "../../schema/analyses.js";
import { masksEqual } from "../engine/mask.js";
import { Random } from "../engine/rng.js";
import { cloneWeights, type WeightValues } from "../engine/weights.js";
import { evaluateWeights, seededSubset, throwIfStopped } from "./evaluation.js";
import type { AnalysisContext } from "./registry.js";
import { selectModel } from "./selected-models.js";

export async function plane(context: AnalysisContext, input: AnalysisInput<"plane">): Promise<AnalysisResult<"plane">> {
  const { dataset, session } = context;
  const source = context.sources[0]!;
  const models = [];
  for (const selector of input.models) models.push(await selectModel(session, source, input.cycle, selector));
  const [a, b, c] = models as [(typeof models)[0], (typeof models)[0], (typeof models)[0]];
  for (const other of [b, c]) if (!masksEqual(a.mask, other.mask)) throw new Error(`${a.label} and ${other.label} have different masks; a plane needs three models of one mask`);
  const positions = session.trainablePositions;
  const basis = planeBasis(
    positions.map((p) => a.weights[p]!),
    positions.map((p) => b.weights[p]!),
    positions.map((p) => c.weights[p]!),
  );
  if (!basis) throw new Error(`${a.label}, ${b.label} and ${c.label} lie on one line (or coincide); they span no plane`);
  const points: Array<[number, number]> = [[0, 0], basis.b, basis.c];
  const xs = gridAxis(points.map((p) => p[0]), input.grid, input.margin);
  const ys = gridAxis(points.map((p) => p[1]), input.grid, input.margin);
  const train = seededSubset(dataset.train, input.trainExamples, Random.derive(input.seed, ["analysis", "plane", "train-subset"]));
  const test = seededSubset(dataset.test, input.testExamples, Random.derive(input.seed, ["analysis", "plane", "test-subset"]));
  const trainLoss: number[][] = [];
  const testAccuracy: number[][] = [];
  // Running statistics start from the origin's and are recomputed at each point.
  const weights = cloneWeights(a.weights);
  for (const [j, y] of ys.entries()) {
    const lossRow: number[] = [];
    const accuracyRow: number[] = [];
    for (const [i, x] of xs.entries()) {
      throwIfStopped(context);
      positions.forEach((position, k) => {
        const out = weights[position]!;
        const origin = a.weights[position]!;
        const u = basis.u[k]!;
        const v = basis.v[k]!;
        for (let n = 0; n < out.length; n++) out[n] = origin[n]! + x * u[n]! + y * v[n]!;
      });
      const result = evaluateWeights(context, weights, { train, test }, Random.derive(input.seed, ["analysis", "plane", "bn", j, i]));
      lossRow.push(result.train.loss);
      accuracyRow.push(result.test.accuracy);
      context.onProgress((j * xs.length + i + 1) / (xs.length * ys.length));
    }
    trainLoss.push(lossRow);
    testAccuracy.push(accuracyRow);
  }
  return {
    basis: { origin: a.label, u: `towards ${b.label}`, v: `towards ${c.label}, orthogonal to u (Gram–Schmidt)`, models: [a.label, b.label, c.label] },
    points,
    xs,
    ys,
    trainLoss,
    testAccuracy,
    trainExamples: train.count,
    testExamples: test.count,
  };
}

export interface PlaneBasis {
  /** Unit vectors, tensor by tensor, in float64. */
  u: Float64Array[];
  v: Float64Array[];
  /** Coordinates of the second and third model (the first is the origin). */
  b: [number, number];
  c: [number, number];
}

/** Gram–Schmidt on b − a and c − a; undefined when the three points span no plane. */
export function planeBasis(a: readonly Float32Array[], b: readonly Float32Array[], c: readonly Float32Array[]): PlaneBasis | undefined {
  const diff = (x: readonly Float32Array[]) => x.map((t, i) => Float64Array.from(t, (value, j) => value - a[i]![j]!));
  const dot = (x: Float64Array[], y: Float64Array[]) => x.reduce((sum, t, i) => sum + t.reduce((s, value, j) => s + value * y[i]![j]!, 0), 0);
  const u = diff(b);
  const w = diff(c);
  const lengthB = Math.sqrt(dot(u, u));
  if (!(lengthB > 0)) return undefined;
  for (const t of u) for (let j = 0; j < t.length; j++) t[j]! /= lengthB;
  const along = dot(w, u);
  const v = w.map((t, i) => t.map((value, j) => value - along * u[i]![j]!));
  const across = Math.sqrt(dot(v, v));
  // Relative to the third model's distance, so float rounding of a collinear point does not pass for a plane.
  if (!(across > 1e-9 * Math.sqrt(dot(w, w)))) return undefined;
  for (const t of v) for (let j = 0; j < t.length; j++) t[j]! /= across;
  return { u, v, b: [lengthB, 0], c: [along, across] };
}

/** `count` evenly spaced values from min − margin·span to max + margin·span. */
export function gridAxis(values: readonly number[], count: number, margin: number): number[] {
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low;
  const start = low - margin * span;
  const step = (span * (1 + 2 * margin)) / (count - 1);
  return Array.from({ length: count }, (_, i) => start + i * step);
}
