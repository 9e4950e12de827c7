/**
 * The project's Conv2DBackpropFilter, Conv2DBackpropInput and MaxPoolGrad on wasm against the cpu
 * backend: every convolution and pooling layer of the project's models (LeNet-5, conv-2/4/6,
 * ResNet-20 on 28x28x1 and 32x32x3), seeded random geometries (strides 1 and 2, 'same', 'valid'
 * and explicit padding, 1x1/3x3/5x5 filters, NCHW), and pooling ties.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { Random } from "../../worker/engine/rng.js";
import { compareKernel, initProjectWasm, randomTensor, relativeError, runKernelOn, TOLERANCE, type HostTensor } from "./wasm-kernels-harness.js";

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  label: string;
  /** NHWC (or NCHW when dataFormat is "NCHW") */
  inputShape: [number, number, number, number];
  filterShape: [number, number, number, number];
  strides: number;
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
}

/** Batch of the layer cases: small, since the cpu reference is slow; enough pixels for several chunks. */
const B = 2;

function modelLayers(): ConvCase[] {
  const layers: ConvCase[] = [
    { label: "lenet-5 conv1", inputShape: [B, 28, 28, 1], filterShape: [5, 5, 1, 6], strides: 1, pad: "same" },
    { label: "lenet-5 conv2", inputShape: [B, 14, 14, 6], filterShape: [5, 5, 6, 16], strides: 1, pad: "valid" },
  ];
  for (const [side, channels] of [[32, 3], [28, 1]] as const) {
    // conv-2/4/6: 3x3 'same' convolutions of 64, 128, 256 channels, halved by each pooling.
    const convN: Array<[number, number, number]> = [[side, channels, 64], [side, 64, 64], [side / 2, 64, 128], [side / 2, 128, 128], [side / 4, 128, 256], [side / 4, 256, 256]];
    for (const [size, inChannels, outChannels] of convN) {
      layers.push({ label: `conv-N ${size}x${size}x${inChannels}→${outChannels}`, inputShape: [B, Math.floor(size), Math.floor(size), inChannels], filterShape: [3, 3, inChannels, outChannels], strides: 1, pad: "same" });
    }
    // ResNet-20: 3x3 stride-1 convolutions, 3x3 and 1x1 stride-2 convolutions into each stage.
    const half = Math.ceil(side / 2);
    const quarter = Math.ceil(half / 2);
    const resnet: Array<[number, number, number, number, number]> = [
      [side, channels, 16, 3, 1], [side, 16, 16, 3, 1],
      [side, 16, 32, 3, 2], [side, 16, 32, 1, 2], [half, 32, 32, 3, 1],
      [half, 32, 64, 3, 2], [half, 32, 64, 1, 2], [quarter, 64, 64, 3, 1],
    ];
    for (const [size, inChannels, outChannels, filter, strides] of resnet) {
      layers.push({ label: `resnet-20 ${size}x${size}x${inChannels}→${outChannels} ${filter}x${filter}/${strides}`, inputShape: [B, size, size, inChannels], filterShape: [filter, filter, inChannels, outChannels], strides, pad: "same" });
    }
  }
  return layers;
}

function randomCases(random: Random, count: number): ConvCase[] {
  const cases: ConvCase[] = [];
  const filters = [1, 3, 5];
  while (cases.length < count) {
    const filter = filters[random.nextInt(3)]!;
    const height = 1 + random.nextInt(13);
    const width = 1 + random.nextInt(13);
    const strides = 1 + random.nextInt(2);
    const inChannels = 1 + random.nextInt(8);
    const outChannels = 1 + random.nextInt(8);
    const batch = 1 + random.nextInt(3);
    const pick = random.nextInt(4);
    const pad: Pad = pick === 0 ? "valid" : pick === 1 ? "same" : pick === 2 ? random.nextInt(3) : [[0, 0], [random.nextInt(3), random.nextInt(3)], [random.nextInt(3), random.nextInt(3)], [0, 0]];
    const info = tf.backend_util.computeConv2DInfo([batch, height, width, inChannels], [filter, filter, inChannels, outChannels], strides, 1, pad);
    if (info.outHeight <= 0 || info.outWidth <= 0) continue;
    cases.push({ label: `random ${batch}x${height}x${width}x${inChannels} f${filter} s${strides} ${JSON.stringify(pad)} →${outChannels}`, inputShape: [batch, height, width, inChannels], filterShape: [filter, filter, inChannels, outChannels], strides, pad });
  }
  return cases;
}

function outputShape(c: ConvCase): number[] {
  const nhwc = c.dataFormat === "NCHW" ? [c.inputShape[0], c.inputShape[2], c.inputShape[3], c.inputShape[1]] : c.inputShape;
  const out = tf.backend_util.computeConv2DInfo(nhwc as [number, number, number, number], c.filterShape, c.strides, 1, c.pad).outShape;
  return c.dataFormat === "NCHW" ? [out[0], out[3], out[1], out[2]] : out;
}

/**
 * The cpu backend's filter gradient by way of its forward convolution: dW[kh, kw, c, o] is the
 * convolution of x (as c images of n channels) with dy (as an oh x ow filter from n to o
 * channels), dilated by the stride. The same numbers as cpu's Conv2DBackpropFilter (checked below
 * on small cases) at a hundredth of its time, which makes full-size layers affordable as tests.
 */
function cpuFilterGradientByConvolution(x: tf.Tensor4D, dy: tf.Tensor4D, c: ConvCase): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, c.filterShape, c.strides, 1, c.pad);
    const { top, left } = info.padInfo;
    const reachH = info.strideHeight * (info.outHeight - 1) + info.filterHeight;
    const reachW = info.strideWidth * (info.outWidth - 1) + info.filterWidth;
    // Rows and columns the forward convolution never reached contribute nothing: crop them.
    const keptH = Math.min(info.inHeight, reachH - top);
    const keptW = Math.min(info.inWidth, reachW - left);
    const cropped = tf.slice(x, [0, 0, 0, 0], [x.shape[0], keptH, keptW, x.shape[3]]);
    const images = tf.transpose(cropped, [3, 1, 2, 0]);
    const filter = tf.transpose(dy, [1, 2, 0, 3]);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [top, reachH - top - keptH], [left, reachW - left - keptW], [0, 0]];
    const gradient = tf.conv2d(images as tf.Tensor4D, filter as tf.Tensor4D, 1, pad, "NHWC", [info.strideHeight, info.strideWidth]);
    return tf.transpose(gradient, [1, 2, 0, 3]);
  });
}

/** Above this many multiply-adds cpu's Conv2DBackpropFilter kernel is too slow to be a test's reference. */
const DIRECT_REFERENCE_LIMIT = 2e6;

async function filterGradientError(x: HostTensor, dy: HostTensor, c: ConvCase, dataFormat: "NHWC" | "NCHW"): Promise<number> {
  const attrs = { strides: c.strides, pad: c.pad, dataFormat, filterShape: c.filterShape };
  const macs = dy.values.length * c.filterShape[0] * c.filterShape[1] * c.filterShape[2];
  if (macs <= DIRECT_REFERENCE_LIMIT || dataFormat === "NCHW") return compareKernel("Conv2DBackpropFilter", { x, dy }, attrs);
  await tf.setBackend("cpu");
  const expected = tf.tidy(() => cpuFilterGradientByConvolution(tf.tensor4d(x.values, x.shape as never), tf.tensor4d(dy.values, dy.shape as never), c));
  const reference = { values: (await expected.data()) as Float32Array, shape: expected.shape };
  expected.dispose();
  const actual = await runKernelOn("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
  return relativeError(actual, reference);
}

async function checkBackprops(random: Random, c: ConvCase): Promise<void> {
  const x = randomTensor(random, c.inputShape);
  const filter = randomTensor(random, c.filterShape);
  const dy = randomTensor(random, outputShape(c));
  const dataFormat = c.dataFormat ?? "NHWC";
  const filterError = await filterGradientError(x, dy, c, dataFormat);
  assert.ok(filterError <= TOLERANCE, `Conv2DBackpropFilter ${c.label}: relative error ${filterError}`);
  const inputError = await compareKernel("Conv2DBackpropInput", { dy, filter }, { strides: c.strides, pad: c.pad, dataFormat, inputShape: c.inputShape });
  assert.ok(inputError <= TOLERANCE, `Conv2DBackpropInput ${c.label}: relative error ${inputError}`);
}

before(async () => {
  await initProjectWasm();
});

test("Conv2DBackpropFilter and Conv2DBackpropInput match cpu at every convolution layer of the models", async () => {
  const random = Random.derive(11, ["wasm-kernels", "conv-layers"]);
  for (const c of modelLayers()) await checkBackprops(random, c);
});

test("Conv2DBackpropFilter and Conv2DBackpropInput match cpu at a full batch of 128 (many chunks)", async () => {
  const random = Random.derive(12, ["wasm-kernels", "conv-full-batch"]);
  await checkBackprops(random, { label: "lenet-5 conv1, batch 128", inputShape: [128, 28, 28, 1], filterShape: [5, 5, 1, 6], strides: 1, pad: "same" });
  await checkBackprops(random, { label: "resnet-20 stage 2 entry, batch 128", inputShape: [128, 16, 16, 16], filterShape: [3, 3, 16, 32], strides: 2, pad: "same" });
});

test("the large layers' reference (cpu forward convolution) equals cpu's Conv2DBackpropFilter", async () => {
  const random = Random.derive(10, ["wasm-kernels", "reference"]);
  for (const c of randomCases(random, 25)) {
    const x = randomTensor(random, c.inputShape);
    const dy = randomTensor(random, outputShape(c));
    const direct = await runKernelOn("cpu", "Conv2DBackpropFilter", { x, dy }, { strides: c.strides, pad: c.pad, dataFormat: "NHWC", filterShape: c.filterShape });
    const viaConvolution = tf.tidy(() => cpuFilterGradientByConvolution(tf.tensor4d(x.values, x.shape as never), tf.tensor4d(dy.values, dy.shape as never), c));
    const error = relativeError({ values: (await viaConvolution.data()) as Float32Array, shape: viaConvolution.shape }, direct);
    viaConvolution.dispose();
    assert.ok(error <= 1e-5, `${c.label}: relative error ${error}`);
  }
  await tf.setBackend("wasm");
});

test("Conv2DBackpropFilter and Conv2DBackpropInput match cpu on random geometries", async () => {
  const random = Random.derive(13, ["wasm-kernels", "conv-random"]);
  for (const c of randomCases(random, 40)) await checkBackprops(random, c);
});

test("Conv2DBackpropFilter and Conv2DBackpropInput match cpu with NCHW tensors", async () => {
  const random = Random.derive(14, ["wasm-kernels", "conv-nchw"]);
  await checkBackprops(random, { label: "NCHW 3x3 same", inputShape: [2, 5, 9, 7], filterShape: [3, 3, 5, 4], strides: 1, pad: "same", dataFormat: "NCHW" });
  await checkBackprops(random, { label: "NCHW 3x3 stride 2 valid", inputShape: [2, 3, 11, 10], filterShape: [3, 3, 3, 6], strides: 2, pad: "valid", dataFormat: "NCHW" });
});

async function checkMaxPoolGrad(label: string, input: HostTensor, filterSize: number, strides: number, pad: "same" | "valid", random: Random): Promise<void> {
  const poolAttrs = { filterSize, strides, pad };
  const output = await runKernelOn("cpu", "MaxPool", { x: input }, poolAttrs);
  const dy = randomTensor(random, output.shape);
  const error = await compareKernel("MaxPoolGrad", { dy, input, output }, poolAttrs);
  assert.ok(error <= TOLERANCE, `MaxPoolGrad ${label}: relative error ${error}`);
}

test("MaxPoolGrad matches cpu at the models' pooling layers, on random geometries and with ties", async () => {
  const random = Random.derive(15, ["wasm-kernels", "max-pool-grad"]);
  const layers: Array<[string, number[]]> = [
    ["lenet-5 pool1", [8, 28, 28, 6]], ["lenet-5 pool2", [8, 10, 10, 16]],
    ["conv-N pool1", [2, 32, 32, 64]], ["conv-N pool2", [2, 16, 16, 128]], ["conv-N pool3", [2, 8, 8, 256]], ["conv-N pool3 28x28", [2, 7, 7, 256]],
  ];
  for (const [label, shape] of layers) await checkMaxPoolGrad(label, randomTensor(random, shape), 2, 2, "valid", random);
  for (let trial = 0; trial < 12; trial++) {
    const shape = [1 + random.nextInt(3), 2 + random.nextInt(10), 2 + random.nextInt(10), 1 + random.nextInt(6)];
    const filterSize = 1 + random.nextInt(3);
    const strides = 1 + random.nextInt(2);
    const pad = random.nextInt(2) === 0 ? "same" : "valid";
    const input = randomTensor(random, shape);
    // A third of the trials on a coarse grid, so windows hold equal maxima.
    if (trial % 3 === 0) for (let i = 0; i < input.values.length; i++) input.values[i] = Math.round(input.values[i]! * 2);
    await checkMaxPoolGrad(`random [${shape}] ${filterSize}/${strides} ${pad}`, input, filterSize, strides, pad, random);
  }
});
