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

export interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  inboundNodes?: Array<{ inboundLayers: LayerLike[] }>;
}

/** A Dense layer (ReLU or linear) of a chain: where its kernel and bias sit in the layout, and its mask. */
export interface DenseLink {
  name: string;
  inputs: number;
  outputs: number;
  relu: boolean;
  kernelAt: number;
  biasAt: number;
  /** Kept entries of the kernel [inputs, outputs], or undefined when it is not pruned. */
  mask: Uint8Array | undefined;
}

export function entryOf(layout: WeightLayout, layer: string, role: WeightLayout["entries"][number]["role"]): number {
  return layout.entries.findIndex((entry) => entry.layer === layer && entry.role === role);
}

/** The kept entries of a prunable weight, or undefined when it is not pruned. */
export function maskAt(layout: WeightLayout, mask: Mask, position: number): Uint8Array | undefined {
  const index = layout.prunable.indexOf(position);
  return index < 0 ? undefined : mask[index];
}

/** The model's layers after its input, each taking the one before it, or the reason they are not a chain. */
export function layerChain(model: tfl.LayersModel): LayerLike[] | string {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return "the model has more than one input or output";
  const chain: LayerLike[] = [];
  let previous: LayerLike | undefined;
  for (const layer of model.layers as unknown as LayerLike[]) {
    const className = layer.getClassName();
    const inbound = layer.inboundNodes?.[0]?.inboundLayers ?? [];
    if (className !== "InputLayer") {
      if (inbound.length !== 1 || inbound[0] !== previous) return `layer ${layer.name} does not follow the one before it`;
      chain.push(layer);
    }
    previous = layer;
  }
  if (previous?.name !== (model.outputs[0] as unknown as { sourceLayer: LayerLike }).sourceLayer.name) return "the model's output is not its last layer";
  return chain;
}

/** Dense layers (ReLU or linear) in order taking `width` inputs, or the reason they are not. */
export function denseLinks(layers: LayerLike[], layout: WeightLayout, mask: Mask, width: number): DenseLink[] | string {
  const links: DenseLink[] = [];
  for (const layer of layers) {
    const className = layer.getClassName();
    if (className !== "Dense") return `layer ${layer.name} is a ${className}, not Dense`;
    const activation = layer.getConfig().activation;
    if (activation !== "relu" && activation !== "linear") return `layer ${layer.name} has activation ${String(activation)}`;
    const kernelAt = entryOf(layout, layer.name, "kernel");
    const biasAt = entryOf(layout, layer.name, "bias");
    if (kernelAt < 0 || biasAt < 0) return `layer ${layer.name} has no kernel or no bias`;
    const [inputs, outputs] = layout.entries[kernelAt]!.shape as [number, number];
    if (inputs !== width) return `layer ${layer.name} takes ${inputs} inputs, the layer before gives ${width}`;
    links.push({ name: layer.name, inputs, outputs, relu: activation === "relu", kernelAt, biasAt, mask: maskAt(layout, mask, kernelAt) });
    width = outputs;
  }
  if (links.length === 0) return "the model has no Dense layer";
  return links;
}

/** The Dense layers of a model that is Flatten (optional) and Dense layers, with its input width, or the reason it is not one. */
export function modelDenseLinks(model: tfl.LayersModel, layout: WeightLayout, mask: Mask): { links: DenseLink[]; inputWidth: number } | string {
  const chain = layerChain(model);
  if (typeof chain === "string") return chain;
  const dense = chain[0]?.getClassName() === "Flatten" ? chain.slice(1) : chain;
  const inputWidth = (model.inputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const links = denseLinks(dense, layout, mask, inputWidth);
  return typeof links === "string" ? links : { links, inputWidth };
}

/**
 * The input columns the first layer reads, renumbered in order: those some kept weight reads, or
 * all of them when `readsAll` (a dense product reads every column). gatherAt[i] is column i's new
 * number, −1 where it is not read.
 */
export function gatheredInputs(first: DenseLink, readsAll = false): { gatherAt: Int32Array; gather: number[] } {
  const gatherAt = new Int32Array(first.inputs).fill(-1);
  const gather: number[] = [];
  for (let i = 0; i < first.inputs; i++) {
    for (let o = 0; o < first.outputs; o++) {
      if (readsAll || !first.mask || first.mask[i * first.outputs + o]) {
        gatherAt[i] = gather.length;
        gather.push(i);
        break;
      }
    }
  }
  return { gatherAt, gather };
}

/**
 * The plan of a chain of Dense (ReLU or linear) layers taking `width` row-major inputs, under
 * `mask` (pruned values need not be zero: only kept weights are read), or the reason there is none.
 */
export function planDenseLayers(layers: LayerLike[], layout: WeightLayout, weights: WeightValues, mask: Mask, width: number): SparseMlpPlan | string {
  const links = denseLinks(layers, layout, mask, width);
  return typeof links === "string" ? links : planOfLinks(links, weights);
}

/** The plan of a model that is Flatten (optional) and Dense layers, or the reason there is none. */
export function planSparseMlp(model: tfl.LayersModel, layout: WeightLayout, weights: WeightValues, mask: Mask): SparseMlpPlan | string {
  const chain = modelDenseLinks(model, layout, mask);
  return typeof chain === "string" ? chain : planOfLinks(chain.links, weights);
}

function planOfLinks(links: DenseLink[], weights: WeightValues): SparseMlpPlan {
  const first = links[0]!;
  const { gatherAt, gather } = gatheredInputs(first);
  const structure: number[] = [first.inputs, gather.length, links.length];
  const indices: number[] = [];
  const floats: number[] = [];
  for (const link of links) {
    const kernel = weights[link.kernelAt]!;
    const columns: number[][] = Array.from({ length: link.outputs }, () => []);
    const values: number[][] = Array.from({ length: link.outputs }, () => []);
    for (let i = 0; i < link.inputs; i++) {
      for (let o = 0; o < link.outputs; o++) {
        const at = i * link.outputs + o;
        if (link.mask && !link.mask[at]) continue;
        columns[o]!.push(link === first ? gatherAt[i]! : i);
        values[o]!.push(kernel[at]!);
      }
    }
    const kept = columns.reduce((n, row) => n + row.length, 0);
    structure.push(link.outputs, link.relu ? 1 : 0, kept);
    let start = 0;
    indices.push(0);
    for (const row of columns) indices.push((start += row.length));
    for (const row of columns) for (const column of row) indices.push(column);
    for (const row of values) for (const value of row) floats.push(value);
    for (const value of weights[link.biasAt]!) floats.push(value);
  }
  structure.push(...gather);
  return {
    structure: Int32Array.from(structure), indices: Int32Array.from(indices), floats: Float32Array.from(floats),
    inputWidth: first.inputs, outputs: links.at(-1)!.outputs, layers: links.map((link) => link.name),
  };
}

/** Logits [batch, outputs] of `batch` row-major examples, on the native kernel. */
export function runSparseMlp(native: NativeAddon, plan: SparseMlpPlan, x: Float32Array, batch: number): Float32Array {
  if (x.length < batch * plan.inputWidth) throw new Error(`sparse MLP: ${batch} examples need ${batch * plan.inputWidth} values, got ${x.length}`);
  const y = new Float32Array(batch * plan.outputs);
  native.sparseMlpForward(plan.structure, plan.indices, plan.floats, x, 0, batch, y, 0);
  return y;
}
