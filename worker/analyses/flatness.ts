/**
 * Flatness of one stored model: Hutchinson's Hessian trace with its standard error, the top
 * Hessian eigenvalue and a perturbation sharpness (hessian.ts), all over the surviving weights
 * (masked kernels' pruned values are not coordinates; biases and other trainable tensors are) and
 * the training loss on a fixed seeded subset of input.examples training images.
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type { AnalysisInput, AnalysisResult } from "../../schema/analyses.js";
import { Random } from "../engine/rng.js";
import { seededSubset, throwIfStopped } from "./evaluation.js";
import { FINITE_DIFFERENCE_STEP, hutchinsonTrace, perturbationSharpness, topEigenvalue } from "./hessian.js";
import { modelLossSurface } from "./loss-surface.js";
import type { AnalysisContext } from "./registry.js";
import { selectModel } from "./selected-models.js";

export async function flatness(context: AnalysisContext, input: AnalysisInput<"flatness">): Promise<AnalysisResult<"flatness">> {
  const { session, dataset, config } = context;
  const model = await selectModel(session, context.sources[0]!, input.cycle, input.model);
  session.writeWeights(model.weights);
  const data = seededSubset(dataset.train, input.examples, Random.derive(input.seed, ["analysis", "flatness", "subset"]));
  const surface = modelLossSurface({
    variables: session.trainableVariables(),
    masks: session.trainablePositions.map((position) => {
      const prunable = session.layout.prunable.indexOf(position);
      return prunable < 0 ? undefined : model.mask[prunable];
    }),
    forward: (x) => session.model.apply(x, { training: false }) as Tensor,
    images: data.images,
    labels: data.labels,
    exampleShape: [...dataset.inputShape],
    batchSize: Math.max(config.training.batchSize, 1000),
  });
  // Work units: 2 gradients per probe and per power step, 1 loss per sharpness sample.
  const total = 2 * input.probes + 2 * input.powerIterations + input.sharpnessSamples + 1;
  let done = 0;
  const tick = (units: number) => {
    throwIfStopped(context);
    done += units;
    context.onProgress(Math.min(done / total, 1));
  };
  try {
    const loss = surface.loss();
    const trace = hutchinsonTrace(surface, input.probes, Random.derive(input.seed, ["analysis", "flatness", "probes"]), () => tick(2));
    const eigenvalue = topEigenvalue(surface, input.powerIterations, Random.derive(input.seed, ["analysis", "flatness", "power"]), () => tick(2));
    const sharpness = perturbationSharpness(surface, input.rho, input.sharpnessSamples, Random.derive(input.seed, ["analysis", "flatness", "perturbations"]), () => tick(1));
    return {
      model: model.label,
      trace: trace.mean,
      traceStdErr: trace.stdErr,
      probes: trace.samples,
      topEigenvalue: eigenvalue,
      powerIterations: input.powerIterations,
      sharpness: sharpness.mean,
      sharpnessStdErr: sharpness.stdErr,
      rho: input.rho,
      loss: Math.max(loss, 0),
      weights: surface.size,
      examples: data.count,
      hessianVectorProducts: "finite-differences",
      step: FINITE_DIFFERENCE_STEP,
    };
  } finally {
    surface.restore();
  }
}
