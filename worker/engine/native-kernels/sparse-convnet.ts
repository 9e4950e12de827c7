/**
 * A pruned Conv-n's inference pass as one native call (native/src/sparse_convnet.c): 3×3 "same"
 * convolutions with their BatchNorm folded into the kept weights and a bias (inference BatchNorm
 * is an affine map per channel), ReLU and 2×2 max pooling per image on planes that stay in cache,
 * then the Dense head as sparse-mlp.ts plans it. Plans are built once from a model's weights and
 * mask; a model of other layers gets a reason instead.
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Mask } from "../mask.js";
import type { WeightLayout, WeightValues } from "../weights.js";
import type { NativeAddon } from "./addon.js";
import { entryOf, layerChain, maskAt, planDenseLayers, type LayerLike, type SparseMlpPlan } from "./sparse-mlp.js";

export interface SparseConvNetPlan {
  structure: Int32Array;
  indices: Int32Array;
  floats: Float32Array;
  head: SparseMlpPlan;
  inputSize: number;
  outputs: number;
}

interface ConvStage {
  kind: 0 | 1;
  outputs: number;
  relu: boolean;
  /** Convolutions: kept weights by output channel as plane offsets and (folded) values, and the bias. */
  starts: number[];
  offsets: number[];
  weights: number[];
  bias: Float32Array;
}

function sameList(value: unknown, expected: number): boolean {
  return Array.isArray(value) ? value.every((v) => v === expected) : value === expected;
}

/**
 * The plan of Conv2D (3×3, stride 1, "same") [+ BatchNormalization] [+ ReLU] and 2×2 MaxPooling2D
 * layers, then Flatten and Dense layers, under `mask`, or the reason there is none.
 */
export function planSparseConvNet(model: tfl.LayersModel, layout: WeightLayout, weights: WeightValues, mask: Mask): SparseConvNetPlan | string {
  const chain = layerChain(model);
  if (typeof chain === "string") return chain;
  const [height, width, channels] = model.inputs[0]!.shape.slice(1) as number[];
  if (height === undefined || width === undefined || channels === undefined) return "the model's input is not an image";
  let h = height, w = width, c = channels;
  const stages: ConvStage[] = [];
  let at = 0;
  for (; at < chain.length; at++) {
    const layer = chain[at]!;
    const className = layer.getClassName();
    const config = layer.getConfig();
    if (className === "Flatten") break;
    if (className === "MaxPooling2D") {
      if (!sameList(config.poolSize, 2) || !sameList(config.strides, 2) || config.padding !== "valid" || h < 2 || w < 2) return `layer ${layer.name} is not a 2×2 "valid" pooling`;
      stages.push({ kind: 1, outputs: c, relu: false, starts: [], offsets: [], weights: [], bias: new Float32Array(0) });
      // An odd side drops its last row or column, as "valid" pooling does.
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      continue;
    }
    const last = stages.at(-1);
    if (className === "BatchNormalization") {
      if (!last || last.kind !== 0 || last.relu) return `layer ${layer.name} does not follow a convolution`;
      const role = (r: "gamma" | "beta" | "moving-mean" | "moving-variance") => entryOf(layout, layer.name, r);
      const epsilon = Number(config.epsilon);
      const gamma = role("gamma") >= 0 ? weights[role("gamma")]! : undefined;
      const beta = role("beta") >= 0 ? weights[role("beta")]! : undefined;
      const mean = weights[role("moving-mean")]!;
      const variance = weights[role("moving-variance")]!;
      for (let o = 0; o < last.outputs; o++) {
        const scale = (gamma ? gamma[o]! : 1) / Math.sqrt(variance[o]! + epsilon);
        for (let e = last.starts[o]!; e < last.starts[o + 1]!; e++) last.weights[e] = Math.fround(last.weights[e]! * scale);
        last.bias[o] = (last.bias[o]! - mean[o]!) * scale + (beta ? beta[o]! : 0);
      }
      continue;
    }
    if (className === "Activation") {
      if (!last || last.kind !== 0 || last.relu || config.activation !== "relu") return `layer ${layer.name} is not a ReLU after a convolution`;
      last.relu = true;
      continue;
    }
    if (className !== "Conv2D") return `layer ${layer.name} is a ${className}`;
    const activation = config.activation;
    if (!sameList(config.kernelSize, 3) || !sameList(config.strides, 1) || !sameList(config.dilationRate, 1) || config.padding !== "same" || (activation !== "relu" && activation !== "linear")) {
      return `layer ${layer.name} is not a 3×3 "same" convolution of stride 1 with ReLU or no activation`;
    }
    const kernelAt = entryOf(layout, layer.name, "kernel");
    const biasAt = entryOf(layout, layer.name, "bias");
    const [, , inputs, outputs] = layout.entries[kernelAt]!.shape as [number, number, number, number];
    if (inputs !== c) return `layer ${layer.name} takes ${inputs} channels, the layer before gives ${c}`;
    const kernel = weights[kernelAt]!;
    const kept = maskAt(layout, mask, kernelAt);
    const row = w + 2, plane = (h + 2) * row;
    const byOutput: Array<Array<[number, number]>> = Array.from({ length: outputs }, () => []);
    for (let kh = 0; kh < 3; kh++) {
      for (let kw = 0; kw < 3; kw++) {
        for (let i = 0; i < inputs; i++) {
          for (let o = 0; o < outputs; o++) {
            const index = ((kh * 3 + kw) * inputs + i) * outputs + o;
            if (kept && !kept[index]) continue;
            byOutput[o]!.push([i * plane + kh * row + kw, kernel[index]!]);
          }
        }
      }
    }
    const starts = [0];
    for (const list of byOutput) starts.push(starts.at(-1)! + list.length);
    stages.push({
      kind: 0, outputs, relu: activation === "relu", starts,
      offsets: byOutput.flatMap((list) => list.map(([offset]) => offset)), weights: byOutput.flatMap((list) => list.map(([, value]) => value)),
      bias: biasAt >= 0 ? Float32Array.from(weights[biasAt]!) : new Float32Array(outputs),
    });
    c = outputs;
  }
  if (stages.length === 0 || chain[at]?.getClassName() !== "Flatten") return "the model is not convolutions and pooling, then Flatten";
  const head = planDenseLayers(chain.slice(at + 1), layout, weights, mask, h * w * c);
  if (typeof head === "string") return head;
  const structure = [height, width, channels, stages.length];
  const indices: number[] = [];
  const floats: number[] = [];
  for (const stage of stages) {
    structure.push(stage.kind, stage.outputs, stage.relu ? 1 : 0, stage.offsets.length);
    if (stage.kind === 1) continue;
    for (const value of stage.starts) indices.push(value);
    for (const value of stage.offsets) indices.push(value);
    for (const value of stage.weights) floats.push(value);
    for (const value of stage.bias) floats.push(value);
  }
  return {
    structure: Int32Array.from(structure), indices: Int32Array.from(indices), floats: Float32Array.from(floats),
    head, inputSize: height * width * channels, outputs: head.outputs,
  };
}

/** Logits [batch, outputs] of `batch` NHWC images, on the native kernel. */
export function runSparseConvNet(native: NativeAddon, plan: SparseConvNetPlan, x: Float32Array, batch: number): Float32Array {
  if (x.length < batch * plan.inputSize) throw new Error(`sparse Conv-n: ${batch} images need ${batch * plan.inputSize} values, got ${x.length}`);
  const y = new Float32Array(batch * plan.outputs);
  const { head } = plan;
  native.sparseConvNetForward(plan.structure, plan.indices, plan.floats, head.structure, head.indices, head.floats, x, 0, batch, y, 0);
  return y;
}
