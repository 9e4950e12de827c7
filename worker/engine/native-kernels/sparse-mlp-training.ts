/**
 * A pruned multilayer perceptron's whole training step as one native call
 * (native/src/sparse_mlp_train.c): forward, mean softmax cross-entropy, backward over the kept
 * weights only, bias gradients, and the masked SGD update with momentum and coupled weight decay,
 * as MaskedSgd does it. Per layer (sparse-dense.ts) a pruned LeNet-300-100 step still paid TF.js
 * dispatch, the loss, the ReLU and bias gradients and every activation's move to and from planes,
 * about half of the dense step whatever the sparsity; here the cost follows the kept weights. A
 * layer that keeps many weights runs its products as BLAS GEMMs over its whole kernel inside the
 * same call (sparse-routing.ts's mlpTrainingLayer), so the step beats TF.js's at any sparsity.
 *
 * The kernels and biases are updated in place in their variables' storage on the wasm heap, so
 * the session's variables always hold the current weights (readWeights, SWA snapshots, evaluation
 * see them as after a TF.js step) and nothing needs syncing; the momentum of the kept weights lives
 * here. Each variable is first given storage of its own, so no other tensor sees the writes. Used
 * for models that are Flatten (optional) and Dense layers with a bias and a ReLU or no activation,
 * whose weights are all trainable float32 and nothing else is (LeNet-300-100); anything else gets
 * a reason, and the caller runs the TF.js step.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Mask } from "../mask.js";
import type { ModelSession } from "../model-session.js";
import type { SgdSettings } from "../sgd.js";
import { asWasmBackend, floatOffset, heapF32, type WasmBackend } from "../wasm-kernels/wasm-backend.js";
import { loadNative, type NativeAddon } from "./addon.js";
import { gatheredInputs, maskAt, modelDenseLinks } from "./sparse-mlp.js";
import { worthSparseAt } from "./sparse-routing.js";

/** What native/src/addon.c's sparseMlpTrainStep takes besides the weights and the batch. */
export interface SparseMlpTrainingPlan {
  structure: Int32Array;
  indices: Int32Array;
  inputWidth: number;
  layers: TrainingLayer[];
  /** Kept kernel weights over all kernel weights. */
  keptFraction: number;
}

interface TrainingLayer {
  name: string;
  inputs: number;
  outputs: number;
  kernelPosition: number;
  biasPosition: number;
  /** Whether its products run as dense GEMMs over the whole kernel (it keeps too many weights for the sparse loops). */
  dense: boolean;
  /** Flat kernel index of each kept weight, in the order the momentum stores them. */
  keptAt: Int32Array;
}

/**
 * The plan of `session`'s model under `mask`, or the reason the fused step cannot train it. Kept
 * weights are grouped by output, ascending by input within one; the first layer reads only the
 * input columns some kept weight reads, renumbered in order. `refuse`, given the kept fraction of
 * all kernel weights and their number, may decline before the plan is built (it costs a pass over
 * every weight).
 */
export function planSparseMlpTraining(
  session: ModelSession,
  mask: Mask,
  refuse?: (keptFraction: number, weights: number) => string | undefined,
): SparseMlpTrainingPlan | string {
  const chain = modelDenseLinks(session.model, session.layout, mask);
  if (typeof chain === "string") return chain;
  const { links, inputWidth } = chain;
  const layers: TrainingLayer[] = links.map((link) => ({
    name: link.name, inputs: link.inputs, outputs: link.outputs, kernelPosition: link.kernelAt, biasPosition: link.biasAt, dense: false, keptAt: new Int32Array(0),
  }));
  const positions = new Set(layers.flatMap((l) => [l.kernelPosition, l.biasPosition]));
  if (session.trainablePositions.length !== positions.size || session.trainablePositions.some((p) => !positions.has(p))) {
    return "the model has trainable weights besides its Dense kernels and biases";
  }
  if (layers.some((l) => session.variableAt(l.kernelPosition).dtype !== "float32" || session.variableAt(l.biasPosition).dtype !== "float32")) {
    return "the model has weights that are not float32";
  }
  let kept = 0;
  let total = 0;
  layers.forEach((layer, l) => {
    const layerMask = links[l]!.mask;
    const weights = layer.inputs * layer.outputs;
    let layerKept = weights;
    if (layerMask) {
      layerKept = 0;
      for (let j = 0; j < layerMask.length; j++) layerKept += layerMask[j] ? 1 : 0;
    }
    layer.dense = !worthSparseAt(weights === 0 ? 1 : layerKept / weights, weights, "mlpTrainingLayer");
    kept += layerKept;
    total += weights;
  });
  const keptFraction = total === 0 ? 1 : kept / total;
  const refusal = refuse?.(keptFraction, total);
  if (refusal !== undefined) return refusal;

  // A dense first layer's product reads every input column.
  const { gatherAt, gather } = gatheredInputs(links[0]!, layers[0]!.dense);
  const structure: number[] = [inputWidth, gather.length, layers.length];
  const layerIndices = layers.map((layer, l) => {
    const { inputs, outputs } = layer;
    const layerMask = links[l]!.mask;
    const isKept = (at: number) => !layerMask || layerMask[at] !== 0;
    // Row starts by counting each output's kept weights, then the rows filled in input order.
    const rowStart = new Int32Array(outputs + 1);
    for (let at = 0; at < inputs * outputs; at++) if (isKept(at)) rowStart[(at % outputs) + 1]!++;
    for (let o = 0; o < outputs; o++) rowStart[o + 1]! += rowStart[o]!;
    const keptCount = rowStart[outputs]!;
    const next = rowStart.slice(0, outputs);
    const columns = new Int32Array(keptCount);
    const keptAt = new Int32Array(keptCount);
    for (let i = 0, at = 0; i < inputs; i++) {
      for (let o = 0; o < outputs; o++, at++) {
        if (!isKept(at)) continue;
        const e = next[o]!++;
        columns[e] = l === 0 ? gatherAt[i]! : i;
        keptAt[e] = at;
      }
    }
    layer.keptAt = keptAt;
    structure.push(inputs, outputs, links[l]!.relu ? 1 : 0, keptCount, layer.dense ? 1 : 0);
    return [rowStart, columns];
  });
  structure.push(...gather);
  const indices = new Int32Array(layerIndices.reduce((n, parts) => n + parts[0]!.length + parts[1]!.length, 0));
  let at = 0;
  for (const part of layerIndices.flat()) {
    indices.set(part, at);
    at += part.length;
  }
  return { structure: Int32Array.from(structure), indices, inputWidth, layers, keptFraction };
}

/** The training step over a plan, for one training run (its momentum starts at zero, as MaskedSgd's). */
export class SparseMlpTrainer {
  /** Per layer: the kept weights' momentum in plan order, then the bias's. */
  private readonly velocities: Float32Array;
  private readonly offsets: Int32Array;

  constructor(
    private readonly native: NativeAddon,
    private readonly session: ModelSession,
    private readonly plan: SparseMlpTrainingPlan,
    private readonly settings: SgdSettings,
    mask: Mask,
  ) {
    this.velocities = new Float32Array(plan.layers.reduce((n, l) => n + l.keptAt.length + l.outputs, 0));
    this.offsets = new Int32Array(2 * plan.layers.length);
    const backend = asWasmBackend(tf.backend());
    for (const layer of plan.layers) {
      this.exclusiveOffset(backend, layer.biasPosition);
      const kernelAt = this.exclusiveOffset(backend, layer.kernelPosition);
      // Pruned weights are exactly zero from the start, as MaskedSgd makes them.
      const layerMask = maskAt(session.layout, mask, layer.kernelPosition);
      const heap = heapF32(backend);
      if (layerMask) for (let j = 0; j < layerMask.length; j++) if (!layerMask[j]) heap[kernelAt + j] = 0;
    }
  }

  /**
   * Trains on a batch of `count` examples: example b is row rows[b] of `images` (row-major), or
   * row b when rows is null, with label labels[b]. Returns the batch's mean loss, in float32.
   */
  step(images: Float32Array, rows: Int32Array | null, labels: Int32Array, count: number, learningRate: number): number {
    const backend = asWasmBackend(tf.backend());
    this.plan.layers.forEach((layer, l) => {
      this.offsets[2 * l] = this.exclusiveOffset(backend, layer.kernelPosition);
      this.offsets[2 * l + 1] = this.exclusiveOffset(backend, layer.biasPosition);
    });
    // Read after the last allocation (a private copy above may have grown the heap).
    const heap = heapF32(backend);
    const { momentum, weightDecay } = this.settings;
    const loss = this.native.sparseMlpTrainStep(
      this.plan.structure, this.plan.indices, heap, this.offsets, this.velocities, images, 0, rows, labels, count, learningRate, momentum, weightDecay,
    );
    return Math.fround(loss);
  }

  /** The momentum of every trainable variable, in trainable order (0 at pruned weights), as MaskedSgd.velocityValues gives it. */
  velocityValues(): Float32Array[] {
    const byPosition = new Map<number, Float32Array>();
    let at = 0;
    for (const layer of this.plan.layers) {
      const kernel = new Float32Array(layer.inputs * layer.outputs);
      for (let e = 0; e < layer.keptAt.length; e++) kernel[layer.keptAt[e]!] = this.velocities[at + e]!;
      at += layer.keptAt.length;
      byPosition.set(layer.kernelPosition, kernel);
      byPosition.set(layer.biasPosition, this.velocities.slice(at, at + layer.outputs));
      at += layer.outputs;
    }
    return this.session.trainablePositions.map((position) => byPosition.get(position)!);
  }

  /** Nothing to free: the plan and the momentum are plain arrays, the scratch the addon's, per thread. */
  dispose(): void {}

  /**
   * The variable's heap offset, after giving it storage of its own when another tensor shares it
   * (a clone, or a kept tensor read from it), since the step writes into it.
   */
  private exclusiveOffset(backend: WasmBackend, position: number): number {
    const variable = this.session.variableAt(position);
    if (backend.refCount(variable.dataId) !== 1) this.ownStorage(position);
    return floatOffset(backend, variable);
  }

  /** Gives the variable a private copy of its values. */
  private ownStorage(position: number): void {
    const variable = this.session.variableAt(position);
    const fresh = tf.tensor(Float32Array.from(variable.dataSync() as Float32Array), variable.shape, "float32");
    variable.assign(fresh);
    fresh.dispose();
  }
}

/**
 * The fused step for training `session` under `mask`, or the reason the TF.js step runs instead:
 * the wasm backend with the native addon, a model the plan covers, and few enough kept weights
 * (sparse-routing.ts's mlpTrainingStep; SWAMP_SPARSE_BELOW=0 turns it off).
 */
export function sparseMlpTrainerFor(session: ModelSession, mask: Mask, settings: SgdSettings): SparseMlpTrainer | string {
  if (tf.getBackend() !== "wasm") return `the backend is ${tf.getBackend()}, not wasm`;
  const loaded = loadNative();
  if (!loaded.ok) return `native kernels not loaded: ${loaded.reason}`;
  const plan = planSparseMlpTraining(session, mask, (kept, weights) =>
    worthSparseAt(kept, weights, "mlpTrainingStep") ? undefined : `${(kept * 100).toFixed(1)}% of the weights are kept, too many for the sparse step`,
  );
  if (typeof plan === "string") return plan;
  return new SparseMlpTrainer(loaded.native.addon, session, plan, settings, mask);
}
