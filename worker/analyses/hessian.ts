/**
 * Curvature of a loss surface (loss-surface.ts) at the model: Hutchinson's estimate of the Hessian
 * trace, the top eigenvalue by power iteration, and a perturbation sharpness.
 *
 * Hessian–vector products are central finite differences of gradients,
 *   H·v ≈ (∇L(w + h·v) − ∇L(w − h·v)) / 2h,  with h·‖v‖ = FINITE_DIFFERENCE_STEP · ‖w‖,
 * not double backprop: the engine's fused softmax–cross-entropy kernel saves its gradient as a
 * constant, so a second derivative taken through it would silently drop the softmax curvature.
 * The step is relative to the norm of the surviving weights; for ReLU networks the difference
 * averages the curvature over that small neighbourhood (kinks included).
 */
import type { Random } from "../engine/rng.js";
import type { LossSurface } from "./loss-surface.js";

export const FINITE_DIFFERENCE_STEP = 1e-3;

export function hessianVectorProduct(surface: LossSurface, v: Float64Array, step = FINITE_DIFFERENCE_STEP): Float64Array {
  const vNorm = norm(v);
  if (vNorm === 0) return new Float64Array(v.length);
  const h = (step * Math.max(surface.weightNorm, 1e-12)) / vNorm;
  const plus = surface.gradient(scaled(v, h));
  const minus = surface.gradient(scaled(v, -h));
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (plus[i]! - minus[i]!) / (2 * h);
  return out;
}

export interface Estimate {
  mean: number;
  stdErr: number;
  samples: number;
}

/** tr(H) ≈ mean of vᵀHv over Rademacher probes v; its standard error from their spread. */
export function hutchinsonTrace(surface: LossSurface, probes: number, random: Random, onProbe?: (done: number) => void): Estimate {
  const values: number[] = [];
  for (let k = 0; k < probes; k++) {
    const v = new Float64Array(surface.size);
    for (let i = 0; i < v.length; i++) v[i] = random.nextUint32() & 1 ? 1 : -1;
    values.push(dot(v, hessianVectorProduct(surface, v)));
    onProbe?.(k + 1);
  }
  return meanAndStdErr(values);
}

/** The Hessian eigenvalue of largest magnitude (power iteration from a seeded Gaussian start), as its Rayleigh quotient. */
export function topEigenvalue(surface: LossSurface, iterations: number, random: Random, onIteration?: (done: number) => void): number {
  let v: Float64Array = new Float64Array(surface.size);
  for (let i = 0; i < v.length; i++) v[i] = random.nextNormal();
  v = scaled(v, 1 / norm(v));
  let eigenvalue = 0;
  for (let k = 0; k < iterations; k++) {
    const hv = hessianVectorProduct(surface, v);
    eigenvalue = dot(v, hv);
    const length = norm(hv);
    onIteration?.(k + 1);
    if (length === 0) return 0;
    v = scaled(hv, 1 / length);
  }
  return eigenvalue;
}

/** Mean increase of the loss under Gaussian perturbations of the free weights with norm rho·‖w‖. */
export function perturbationSharpness(surface: LossSurface, rho: number, samples: number, random: Random, onSample?: (done: number) => void): Estimate {
  const base = surface.loss();
  const increases: number[] = [];
  for (let k = 0; k < samples; k++) {
    const u = new Float64Array(surface.size);
    for (let i = 0; i < u.length; i++) u[i] = random.nextNormal();
    increases.push(surface.loss(scaled(u, (rho * surface.weightNorm) / norm(u))) - base);
    onSample?.(k + 1);
  }
  return meanAndStdErr(increases);
}

export function meanAndStdErr(values: readonly number[]): Estimate {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, stdErr: Math.sqrt(variance / n), samples: n };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

function scaled(a: Float64Array, factor: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! * factor;
  return out;
}
