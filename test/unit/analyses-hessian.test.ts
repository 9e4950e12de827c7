/**
 * The curvature estimates of worker/analyses/hessian.ts against the exact Hessian of a tiny model:
 * softmax regression (one Dense layer, 5 inputs → 3 classes), whose mean cross-entropy has the
 * closed-form Hessian  H = mean over examples of (diag(p) − p pᵀ) ⊗ x̃ x̃ᵀ  (x̃ = [x, 1] for the bias),
 * restricted to the unmasked weights.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { hessianVectorProduct, hutchinsonTrace, perturbationSharpness, topEigenvalue } from "../../worker/analyses/hessian.js";
import { modelLossSurface, type LossSurface } from "../../worker/analyses/loss-surface.js";
import { Random } from "../../worker/engine/rng.js";
import { useDefaultBackend } from "../helpers/engine-fixture.js";

const INPUTS = 5;
const CLASSES = 3;
const EXAMPLES = 40;

interface Tiny {
  surface: LossSurface;
  /** The exact Hessian over the free coordinates, in the surface's order (kernel values, then bias). */
  hessian: number[][];
  dispose(): void;
}

async function tinyModel(kernelMask?: Uint8Array): Promise<Tiny> {
  await useDefaultBackend();
  const random = Random.derive(7, ["tiny-softmax-regression"]);
  const input = tfl.input({ shape: [INPUTS] });
  const dense = tfl.layers.dense({ units: CLASSES, name: "fc" });
  const model = tfl.model({ inputs: input, outputs: dense.apply(input) as tfl.SymbolicTensor });
  const kernel = Float32Array.from({ length: INPUTS * CLASSES }, () => random.nextNormal() * 0.8);
  if (kernelMask) kernel.forEach((_, j) => kernelMask[j] === 0 && (kernel[j] = 0));
  const bias = Float32Array.from({ length: CLASSES }, () => random.nextNormal() * 0.3);
  model.setWeights([tf.tensor(kernel, [INPUTS, CLASSES]), tf.tensor(bias, [CLASSES])]);
  const images = Float32Array.from({ length: EXAMPLES * INPUTS }, () => random.nextNormal());
  const labels = Int32Array.from({ length: EXAMPLES }, () => random.nextInt(CLASSES));
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const surface = modelLossSurface({
    variables,
    masks: [kernelMask, undefined],
    forward: (x) => model.apply(x) as tf.Tensor,
    images,
    labels,
    exampleShape: [INPUTS],
    batchSize: 16,
  });

  // Exact Hessian in float64 over every parameter: kernel index i*CLASSES+k, then bias k.
  const size = INPUTS * CLASSES + CLASSES;
  const full = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  for (let n = 0; n < EXAMPLES; n++) {
    const x = [...images.subarray(n * INPUTS, (n + 1) * INPUTS)];
    const logits = Array.from({ length: CLASSES }, (_, k) => bias[k]! + x.reduce((s, xi, i) => s + xi * kernel[i * CLASSES + k]!, 0));
    const top = Math.max(...logits);
    const exps = logits.map((z) => Math.exp(z - top));
    const total = exps.reduce((a, b) => a + b, 0);
    const p = exps.map((e) => e / total);
    const feature = (index: number) => (index < INPUTS * CLASSES ? x[Math.floor(index / CLASSES)]! : 1);
    const unit = (index: number) => (index < INPUTS * CLASSES ? index % CLASSES : index - INPUTS * CLASSES);
    for (let a = 0; a < size; a++) {
      for (let b = 0; b < size; b++) {
        const k = unit(a);
        const l = unit(b);
        full[a]![b]! += (feature(a) * feature(b) * ((k === l ? p[k]! : 0) - p[k]! * p[l]!)) / EXAMPLES;
      }
    }
  }
  const free = Array.from({ length: size }, (_, index) => index).filter((index) => index >= INPUTS * CLASSES || !kernelMask || kernelMask[index] === 1);
  const hessian = free.map((a) => free.map((b) => full[a]![b]!));
  return { surface, hessian, dispose: () => model.dispose() };
}

function multiply(matrix: number[][], v: ArrayLike<number>): number[] {
  return matrix.map((row) => row.reduce((s, h, j) => s + h * v[j]!, 0));
}

/** The exact largest eigenvalue of a symmetric positive semi-definite matrix (float64 power iteration to convergence). */
function exactTopEigenvalue(matrix: number[][]): number {
  let v = matrix.map((_, i) => 1 + i / 10);
  let value = 0;
  for (let k = 0; k < 20_000; k++) {
    const w = multiply(matrix, v);
    const length = Math.hypot(...w);
    value = w.reduce((s, x, i) => s + x * v[i]!, 0) / v.reduce((s, x) => s + x * x, 0);
    v = w.map((x) => x / length);
  }
  return value;
}

for (const masked of [false, true]) {
  const mask = masked ? Uint8Array.from({ length: INPUTS * CLASSES }, (_, j) => (j % 4 === 1 ? 0 : 1)) : undefined;
  const what = masked ? "restricted to the unmasked weights" : "over every weight";

  test(`finite-difference Hessian–vector products match the exact Hessian ${what}`, async () => {
    const tiny = await tinyModel(mask);
    try {
      assert.equal(tiny.surface.size, tiny.hessian.length);
      const random = Random.derive(1, ["hvp"]);
      for (let trial = 0; trial < 3; trial++) {
        const v = Float64Array.from({ length: tiny.surface.size }, () => random.nextNormal());
        const estimated = hessianVectorProduct(tiny.surface, v);
        const exact = multiply(tiny.hessian, v);
        const error = Math.hypot(...exact.map((x, i) => x - estimated[i]!));
        assert.ok(error < 2e-3 * Math.hypot(...exact), `relative error ${error / Math.hypot(...exact)}`);
      }
    } finally {
      tiny.dispose();
    }
  });

  test(`Hutchinson's trace agrees with the exact trace ${what} within its standard error`, async () => {
    const tiny = await tinyModel(mask);
    try {
      const exact = tiny.hessian.reduce((s, row, i) => s + row[i]!, 0);
      const estimate = hutchinsonTrace(tiny.surface, 400, Random.derive(2, ["probes"]));
      assert.equal(estimate.samples, 400);
      assert.ok(estimate.stdErr > 0 && estimate.stdErr < 0.2 * exact, `standard error ${estimate.stdErr} for trace ${exact}`);
      assert.ok(Math.abs(estimate.mean - exact) < 4 * estimate.stdErr, `trace ${estimate.mean} ± ${estimate.stdErr}, exact ${exact}`);
    } finally {
      tiny.dispose();
    }
  });

  test(`power iteration finds the exact top Hessian eigenvalue ${what}`, async () => {
    const tiny = await tinyModel(mask);
    try {
      const exact = exactTopEigenvalue(tiny.hessian);
      const estimate = topEigenvalue(tiny.surface, 200, Random.derive(3, ["power"]));
      assert.ok(Math.abs(estimate - exact) < 1e-2 * exact, `top eigenvalue ${estimate}, exact ${exact}`);
    } finally {
      tiny.dispose();
    }
  });

  test(`perturbation sharpness matches its second-order prediction ρ²‖w‖²·tr(H)/(2n) ${what}`, async () => {
    const tiny = await tinyModel(mask);
    try {
      const rho = 0.02;
      const exactTrace = tiny.hessian.reduce((s, row, i) => s + row[i]!, 0);
      const predicted = (rho ** 2 * tiny.surface.weightNorm ** 2 * exactTrace) / (2 * tiny.surface.size);
      const estimate = perturbationSharpness(tiny.surface, rho, 2000, Random.derive(4, ["perturbations"]));
      assert.ok(Math.abs(estimate.mean - predicted) < 4 * estimate.stdErr + 0.05 * predicted, `sharpness ${estimate.mean} ± ${estimate.stdErr}, predicted ${predicted}`);
      tiny.surface.restore();
      assert.ok(Math.abs(tiny.surface.loss() - tiny.surface.loss(new Float64Array(tiny.surface.size))) < 1e-7, "restore writes the model back");
    } finally {
      tiny.dispose();
    }
  });
}
