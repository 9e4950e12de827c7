/**
 * Prunable weight counts per layer, computed from a model's name and its data set's input shape
 * without building the model: the server validates configs (does a pruning schedule empty a
 * layer?) and must not load TensorFlow.js. Each function mirrors one builder in worker/models;
 * test/unit/prunable-layers.test.ts checks them against the layouts of the built models.
 */
import type { DatasetName, ModelName } from "./config.js";

export interface PrunableLayer {
  /** The layer's explicit name, as `pruning.exclude` spells it. */
  name: string;
  /** Weights in its kernel. */
  size: number;
}

export interface InputSpec {
  /** [height, width, channels] */
  inputShape: readonly [number, number, number];
  numClasses: number;
}

/** The shape every data set gives the models (synthetic with its defaults, the only form a config can ask for). */
export const DATASET_INPUTS: Record<DatasetName, InputSpec> = {
  "fashion-mnist": { inputShape: [28, 28, 1], numClasses: 10 },
  mnist: { inputShape: [28, 28, 1], numClasses: 10 },
  cifar10: { inputShape: [32, 32, 3], numClasses: 10 },
  synthetic: { inputShape: [28, 28, 1], numClasses: 10 },
};

type LayerCounter = (input: InputSpec) => PrunableLayer[];

const dense = (name: string, inputs: number, units: number): PrunableLayer => ({ name, size: inputs * units });
const conv = (name: string, kernel: number, inChannels: number, filters: number): PrunableLayer => ({ name, size: kernel * kernel * inChannels * filters });
/** A 2×2 stride-2 max pool with valid padding. */
const pooled = (side: number): number => Math.floor(side / 2);

const lenet300100: LayerCounter = ({ inputShape: [height, width, channels], numClasses }) => [
  dense("fc1", height * width * channels, 300),
  dense("fc2", 300, 100),
  dense("fc3", 100, numClasses),
];

const lenet5: LayerCounter = ({ inputShape: [height, width, channels], numClasses }) => {
  // conv1 keeps the side (same padding), conv2's 5×5 valid window takes 4 off it.
  const side = (s: number) => pooled(pooled(s) - 4);
  return [
    conv("conv1", 5, channels, 6),
    conv("conv2", 5, 6, 16),
    dense("fc1", side(height) * side(width) * 16, 120),
    dense("fc2", 120, 84),
    dense("fc3", 84, numClasses),
  ];
};

const CONV_BLOCK_FILTERS = [64, 128, 256] as const;

function convNet(convolutions: 2 | 4 | 6): LayerCounter {
  return ({ inputShape: [height, width, channels], numClasses }) => {
    const layers: PrunableLayer[] = [];
    let inChannels = channels;
    let h = height;
    let w = width;
    for (let block = 0; block < convolutions / 2; block++) {
      const filters = CONV_BLOCK_FILTERS[block]!;
      for (let i = 0; i < 2; i++) {
        layers.push(conv(`conv${layers.length + 1}`, 3, inChannels, filters));
        inChannels = filters;
      }
      h = pooled(h);
      w = pooled(w);
    }
    layers.push(dense("fc1", h * w * inChannels, 256), dense("fc2", 256, 256), dense("fc3", 256, numClasses));
    return layers;
  };
}

const RESNET_STAGE_CHANNELS = [16, 32, 64] as const;
const RESNET_BLOCKS_PER_STAGE = 3;

/** Independent of the input's side: every convolution pads, and global pooling precedes the logits. */
const resnet20: LayerCounter = ({ inputShape: [, , channels], numClasses }) => {
  const layers: PrunableLayer[] = [conv("conv", 3, channels, RESNET_STAGE_CHANNELS[0])];
  let inChannels: number = RESNET_STAGE_CHANNELS[0];
  RESNET_STAGE_CHANNELS.forEach((outChannels, stage) => {
    for (let block = 0; block < RESNET_BLOCKS_PER_STAGE; block++) {
      const prefix = `s${stage + 1}b${block + 1}_`;
      const stride = stage > 0 && block === 0 ? 2 : 1;
      layers.push(conv(`${prefix}conv1`, 3, inChannels, outChannels), conv(`${prefix}conv2`, 3, outChannels, outChannels));
      if (stride !== 1 || inChannels !== outChannels) layers.push(conv(`${prefix}shortcut_conv`, 1, inChannels, outChannels));
      inChannels = outChannels;
    }
  });
  layers.push(dense("fc", inChannels, numClasses));
  return layers;
};

const LAYER_COUNTERS: Record<ModelName, LayerCounter> = {
  "lenet-300-100": lenet300100,
  "lenet-5": lenet5,
  "conv-2": convNet(2),
  "conv-4": convNet(4),
  "conv-6": convNet(6),
  "resnet-20": resnet20,
};

/** The model's prunable layers in layout order (BatchNorm does not change them). */
export function prunableLayers(model: ModelName, input: InputSpec): PrunableLayer[] {
  return LAYER_COUNTERS[model](input);
}

/** Weights a pruning keeps of `alive`: exactly the engine's round(alive·(1−rate)). */
export function keptAfterPruning(alive: number, rate: number): number {
  return Math.round(alive * (1 - rate));
}

/**
 * The first cycle (1…cycles) whose mask has none of `size` weights left when each pruning keeps
 * keptAfterPruning of them, or null if every cycle keeps some.
 */
export function cycleEmptied(size: number, rate: number, cycles: number): number | null {
  let alive = size;
  for (let cycle = 1; cycle <= cycles; cycle++) {
    const kept = keptAfterPruning(alive, rate);
    if (kept === 0) return cycle;
    if (kept === alive) return null; // a fixed point: round(alive·(1−rate)) = alive from here on
    alive = kept;
  }
  return null;
}
