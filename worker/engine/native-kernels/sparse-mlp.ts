/**
 * A pruned multilayer perceptron's inference pass as one native call (native/src/sparse_mlp.c):
 * its Dense layers' kept weights by output row, with their biases and ReLUs, applied to row-major
 * examples. The per-layer path (sparse-dense.ts) pays TF.js dispatch and moves every activation
 * to and from planes, which at 98.8% sparsity costs more than the multiply-adds; this one reads
 * the examples once and keeps the hidden activations in cache. Plans are built from a model's
 * weights and mask once, for models that are Flatten and Dense layers only (LeNet-300-100);
 * anything else gets a reason instead.
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Mask } from "../mask.js";
import type { WeightLayout, WeightValues } from "../weights.js";
import type { NativeAddon } from "./addon.js";

/** The three arrays native/src/addon.c's sparseMlpForward takes, and what they compute. */
export interface SparseMlpPlan {
  structure: Int32Array;
  indices: Int32Array;
  floats: Float32Array;
  inputWidth: number;
  outputs: number;
  /** The Dense layers, in order. */
  layers: string[];
}

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  inboundNodes?: Array<{ inboundLayers: LayerLike[] }>;
}

interface DenseStage {
  name: string;
  inputs: number;
  outputs: number;
  relu: boolean;
  kernel: Float32Array;
  bias: Float32Array;
  /** Kept entries of the kernel [inputs, outputs], or undefined when it is not pruned. */
  mask: Uint8Array | undefined;
}

function entryOf(layout: WeightLayout, layer: string, role: "kernel" | "bias"): number {
  return layout.entries.findIndex((entry) => entry.layer === layer && entry.role === role);
}

/** The model's Dense layers in order, or the reason it is not a chain of Flatten and Dense layers. */
function denseStages(model: tfl.LayersModel, layout: WeightLayout, weights: WeightValues, mask: Mask): DenseStage[] | string {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return "the model has more than one input or output";
  const stages: DenseStage[] = [];
  let previous: LayerLike | undefined;
  let width = (model.inputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  for (const layer of model.layers as unknown as LayerLike[]) {
    const className = layer.getClassName();
    const inbound = layer.inboundNodes?.[0]?.inboundLayers ?? [];
    if (className !== "InputLayer" && (inbound.length !== 1 || inbound[0] !== previous)) return `layer ${layer.name} does not follow the one before it`;
    previous = layer;
    if (className === "InputLayer" || className === "Flatten") {
      if (stages.length > 0) return `layer ${layer.name} (${className}) comes after a Dense layer`;
      continue;
    }
    if (className !== "Dense") return `layer ${layer.name} is a ${className}, not Dense`;
    const config = layer.getConfig();
    const activation = config.activation;
    if (activation !== "relu" && activation !== "linear") return `layer ${layer.name} has activation ${String(activation)}`;
    const kernelAt = entryOf(layout, layer.name, "kernel");
    const biasAt = entryOf(layout, layer.name, "bias");
    if (kernelAt < 0 || biasAt < 0) return `layer ${layer.name} has no kernel or no bias`;
    const [inputs, outputs] = layout.entries[kernelAt]!.shape as [number, number];
    if (inputs !== width) return `layer ${layer.name} takes ${inputs} inputs, the layer before gives ${width}`;
    const prunableIndex = layout.prunable.indexOf(kernelAt);
    stages.push({
      name: layer.name, inputs, outputs, relu: activation === "relu",
      kernel: weights[kernelAt]!, bias: weights[biasAt]!, mask: prunableIndex < 0 ? undefined : mask[prunableIndex],
    });
    width = outputs;
  }
  if (stages.length === 0) return "the model has no Dense layer";
  if (previous?.name !== (model.outputs[0] as unknown as { sourceLayer: LayerLike }).sourceLayer.name) return "the model's output is not its last layer";
  return stages;
}

/**
 * The plan of a chain of Flatten and Dense (ReLU or linear) layers under `mask` (pruned values
 * need not be zero: only kept weights are read), or the reason there is none.
 */
export function planSparseMlp(model: tfl.LayersModel, layout: WeightLayout, weights: WeightValues, mask: Mask): SparseMlpPlan | string {
  const stages = denseStages(model, layout, weights, mask);
  if (typeof stages === "string") return stages;
  const first = stages[0]!;
  // The first layer reads only the input columns some kept weight reads, renumbered in order.
  const gatherAt = new Int32Array(first.inputs).fill(-1);
  const gather: number[] = [];
  for (let i = 0; i < first.inputs; i++) {
    for (let o = 0; o < first.outputs; o++) {
      if (!first.mask || first.mask[i * first.outputs + o]) {
        gatherAt[i] = gather.length;
        gather.push(i);
        break;
      }
    }
  }
  const structure: number[] = [first.inputs, gather.length, stages.length];
  const indices: number[] = [];
  const floats: number[] = [];
  for (const stage of stages) {
    const columns: number[][] = Array.from({ length: stage.outputs }, () => []);
    const values: number[][] = Array.from({ length: stage.outputs }, () => []);
    for (let i = 0; i < stage.inputs; i++) {
      for (let o = 0; o < stage.outputs; o++) {
        const at = i * stage.outputs + o;
        if (stage.mask && !stage.mask[at]) continue;
        columns[o]!.push(stage === first ? gatherAt[i]! : i);
        values[o]!.push(stage.kernel[at]!);
      }
    }
    const kept = columns.reduce((n, row) => n + row.length, 0);
    structure.push(stage.outputs, stage.relu ? 1 : 0, kept);
    let start = 0;
    indices.push(0);
    for (const row of columns) indices.push((start += row.length));
    for (const row of columns) indices.push(...row);
    for (const row of values) floats.push(...row);
    floats.push(...stage.bias);
  }
  structure.push(...gather);
  return {
    structure: Int32Array.from(structure), indices: Int32Array.from(indices), floats: Float32Array.from(floats),
    inputWidth: first.inputs, outputs: stages.at(-1)!.outputs, layers: stages.map((stage) => stage.name),
  };
}

/** Logits [batch, outputs] of `batch` row-major examples, on the native kernel. */
export function runSparseMlp(native: NativeAddon, plan: SparseMlpPlan, x: Float32Array, batch: number): Float32Array {
  if (x.length < batch * plan.inputWidth) throw new Error(`sparse MLP: ${batch} examples need ${batch * plan.inputWidth} values, got ${x.length}`);
  const y = new Float32Array(batch * plan.outputs);
  native.sparseMlpForward(plan.structure, plan.indices, plan.floats, x, 0, batch, y, 0);
  return y;
}
