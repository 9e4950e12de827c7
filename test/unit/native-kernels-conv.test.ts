/**
 * Native Conv2D, FusedConv2D, Conv2DBackpropInput and Conv2DBackpropFilter against the cpu
 * backend, on the convolution shapes of every model (LeNet-5, Conv-2/4/6, ResNet-20, on 28×28×1
 * and 32×32×3 inputs: 3×3 and 5×5, same and valid, stride 1 and 2, 1×1 stride-2 shortcuts) and on
 * random shapes with other strides, paddings and dilations; each path (im2col + GEMM, the direct
 * kernels, Winograd) on shapes of its own.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { isNativeKernelRegistered, registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { Random } from "../../worker/engine/rng.js";
import { compareWithCpu, initBackends, randomValues, TOLERANCE } from "./native-kernels-harness.js";

before(async () => {
  await initBackends();
  const status = registerNativeKernels();
  assert.equal(status.loaded, true, status.reason);
  for (const name of ["Conv2D", "FusedConv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]) assert.ok(isNativeKernelRegistered(name), name);
});

type Pad = "same" | "valid" | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  label: string;
  input: [number, number, number]; // h, w, c
  filter: [number, number]; // fh, fw
  outChannels: number;
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
}

function modelCases(side: number, channels: number): ConvCase[] {
  const s = side;
  const half = Math.ceil(s / 2);
  const quarter = Math.ceil(half / 2);
  const c3 = (label: string, h: number, cin: number, cout: number, strides = 1): ConvCase => ({ label, input: [h, h, cin], filter: [3, 3], outChannels: cout, strides, pad: "same" });
  return [
    { label: `lenet-5 conv1 @${s}`, input: [s, s, channels], filter: [5, 5], outChannels: 6, strides: 1, pad: "same" },
    { label: `lenet-5 conv2 @${s}`, input: [half, half, 6], filter: [5, 5], outChannels: 16, strides: 1, pad: "valid" },
    c3(`conv-n conv1 @${s}`, s, channels, 64),
    c3(`conv-n conv2 @${s}`, s, 64, 64),
    c3(`conv-n conv3 @${s}`, half, 64, 128),
    c3(`conv-n conv4 @${s}`, half, 128, 128),
    c3(`conv-n conv5 @${s}`, quarter, 128, 256),
    c3(`conv-n conv6 @${s}`, quarter, 256, 256),
    c3(`resnet-20 stem @${s}`, s, channels, 16),
    c3(`resnet-20 stage1 @${s}`, s, 16, 16),
    c3(`resnet-20 stage2 down @${s}`, s, 16, 32, 2),
    { label: `resnet-20 stage2 shortcut @${s}`, input: [s, s, 16], filter: [1, 1], outChannels: 32, strides: 2, pad: "same" },
    c3(`resnet-20 stage2 @${s}`, half, 32, 32),
    c3(`resnet-20 stage3 down @${s}`, half, 32, 64, 2),
    { label: `resnet-20 stage3 shortcut @${s}`, input: [half, half, 32], filter: [1, 1], outChannels: 64, strides: 2, pad: "same" },
    c3(`resnet-20 stage3 @${s}`, quarter, 64, 64),
  ];
}

const random = Random.derive(4, ["native-conv"]);

function randomCases(count: number, channels: { in: readonly number[]; out: readonly number[] } = { in: [1, 2, 3, 4, 5, 6, 7], out: [1, 2, 3, 4, 5, 6, 7, 8, 9] }): ConvCase[] {
  const pick = <T>(options: readonly T[]): T => options[Math.floor(random.next() * options.length)]!;
  const cases: ConvCase[] = [];
  for (let i = 0; i < count; i++) {
    const fh = pick([1, 2, 3, 5]);
    const fw = pick([1, 3, 4]);
    const h = fh + Math.floor(random.next() * 9);
    const w = fw + Math.floor(random.next() * 9);
    const strides = pick<number | [number, number]>([1, 2, 3, [1, 2], [2, 1]]);
    const pad = pick<Pad>(["same", "valid", 1, [[0, 0], [1, 2], [0, 1], [0, 0]]]);
    cases.push({ label: `random ${i}`, input: [h, w, pick(channels.in)], filter: [fh, fw], outChannels: pick(channels.out), strides, pad });
  }
  return cases;
}

const BATCH = 2;

function tensors(c: ConvCase) {
  const xShape: [number, number, number, number] = [BATCH, ...c.input];
  const filterShape: [number, number, number, number] = [...c.filter, c.input[2], c.outChannels];
  const x = randomValues(random, xShape);
  const filter = randomValues(random, filterShape);
  const outShape = tf.tidy(() => tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.strides, c.pad, "NHWC", c.dilations ?? 1).shape);
  const dy = randomValues(random, outShape);
  return { xShape, filterShape, outShape, x, filter, dy };
}

async function checkCase(c: ConvCase, withBackprop: boolean): Promise<void> {
  const t = tensors(c);
  const where = `${c.label}: x [${t.xShape}] filter [${t.filterShape}] strides ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}`;
  const forward = await compareWithCpu(() =>
    tf.conv2d(tf.tensor(t.x, t.xShape) as tf.Tensor4D, tf.tensor(t.filter, t.filterShape) as tf.Tensor4D, c.strides, c.pad, "NHWC", c.dilations ?? 1),
  );
  assert.ok(forward < TOLERANCE, `Conv2D ${where}: relative error ${forward}`);
  const bias = randomValues(random, [c.outChannels]);
  const fused = await compareWithCpu(() =>
    tf.fused.conv2d({
      x: tf.tensor(t.x, t.xShape) as tf.Tensor4D,
      filter: tf.tensor(t.filter, t.filterShape) as tf.Tensor4D,
      strides: c.strides,
      pad: c.pad,
      dilations: c.dilations ?? 1,
      bias: tf.tensor1d(bias),
      activation: "relu",
    }),
  );
  assert.ok(fused < TOLERANCE, `FusedConv2D ${where}: relative error ${fused}`);
  if (!withBackprop) return;
  const input = await compareWithCpu(() =>
    tf.engine().runKernel("Conv2DBackpropInput", { dy: tf.tensor(t.dy, t.outShape), filter: tf.tensor(t.filter, t.filterShape) }, {
      strides: c.strides, pad: c.pad, dataFormat: "NHWC", inputShape: t.xShape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor,
  );
  assert.ok(input < TOLERANCE, `Conv2DBackpropInput ${where}: relative error ${input}`);
  // tfjs-backend-cpu's own Conv2DBackpropFilter is a naive loop (20 s for one Conv-4 layer), so on
  // big shapes the cpu reference is the same sum computed as one product per filter tap.
  const bigShape = t.xShape.reduce((a, b) => a * b, 1) * c.outChannels > 2e5;
  const filter = await compareWithCpu(() =>
    bigShape
      ? filterGradientByTaps(c, tf.tensor(t.x, t.xShape) as tf.Tensor4D, tf.tensor(t.dy, t.outShape) as tf.Tensor4D)
      : (tf.engine().runKernel("Conv2DBackpropFilter", { x: tf.tensor(t.x, t.xShape), dy: tf.tensor(t.dy, t.outShape) }, {
          strides: c.strides, pad: c.pad, dataFormat: "NHWC", filterShape: t.filterShape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor),
  );
  assert.ok(filter < TOLERANCE, `Conv2DBackpropFilter ${where}: relative error ${filter}`);
}

/**
 * dW[i, j, :, :] = Σ over output pixels of x[pixel's tap (i, j)]ᵀ · dy[pixel]: on the cpu backend
 * this is a strided slice of the padded input and one matrix product per tap. On the wasm backend
 * it is not used (the test would then compare the native kernel with itself).
 */
function filterGradientByTaps(c: ConvCase, x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  if (tf.getBackend() === "wasm") {
    return tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
      strides: c.strides, pad: c.pad, dataFormat: "NHWC", filterShape: [...c.filter, c.input[2], c.outChannels],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape, [...c.filter, c.input[2], c.outChannels], c.strides, 1, c.pad);
  const [n, h, w, cin] = x.shape;
  const { top, left } = info.padInfo;
  const bottom = Math.max(0, (info.outHeight - 1) * info.strideHeight + info.filterHeight - h - top);
  const right = Math.max(0, (info.outWidth - 1) * info.strideWidth + info.filterWidth - w - left);
  const padded = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
  const rows = n * info.outHeight * info.outWidth;
  const dyMatrix = tf.reshape(dy, [rows, info.outChannels]);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < info.filterHeight; i++) {
    for (let j = 0; j < info.filterWidth; j++) {
      const end = [n, i + (info.outHeight - 1) * info.strideHeight + 1, j + (info.outWidth - 1) * info.strideWidth + 1, cin];
      const tap = tf.stridedSlice(padded, [0, i, j, 0], end, [1, info.strideHeight, info.strideWidth, 1]);
      taps.push(tf.matMul(tf.reshape(tap, [rows, cin]), dyMatrix, true, false));
    }
  }
  return tf.reshape(tf.stack(taps), [info.filterHeight, info.filterWidth, cin, info.outChannels]);
}

test("every model's convolutions on 28x28x1 inputs: forward, fused, both backprops", async () => {
  for (const c of modelCases(28, 1)) await checkCase(c, true);
});

test("every model's convolutions on 32x32x3 inputs: forward, fused, both backprops", async () => {
  for (const c of modelCases(32, 3)) await checkCase(c, true);
});

test("random shapes with strides 1-3, same/valid/numeric/explicit padding", async () => {
  for (const c of randomCases(24)) await checkCase(c, true);
});

test("random shapes with 8 to 32 output channels (the direct kernels), strides 1-3, every padding", async () => {
  for (const c of randomCases(16, { in: [8, 9, 12, 16, 20], out: [8, 16, 24, 32] })) await checkCase(c, true);
});

test("random shapes with 40 to 64 output channels (AVX-512 forward kernel in chunks, masked last vector), strides 1-3", async () => {
  for (const c of randomCases(8, { in: [8, 16, 32], out: [40, 48, 56, 64] })) await checkCase(c, true);
});

// The direct kernels pick AVX-512 or AVX2 blocks per call; SWAMP_NATIVE_AVX512=0 (read per call,
// through the process environment) forces the AVX2 ones, so on an AVX-512 machine both are checked.
// Without AVX-512 this repeats the AVX2 checks above.
test("the AVX2 blocks (SWAMP_NATIVE_AVX512=0): ResNet-20's convolutions and random direct-kernel shapes", async () => {
  const saved = process.env.SWAMP_NATIVE_AVX512;
  process.env.SWAMP_NATIVE_AVX512 = "0";
  try {
    for (const c of modelCases(28, 1).filter((m) => m.label.startsWith("resnet-20"))) await checkCase(c, true);
    for (const c of randomCases(10, { in: [8, 9, 16, 20], out: [8, 16, 24, 32] })) await checkCase(c, true);
  } finally {
    if (saved === undefined) delete process.env.SWAMP_NATIVE_AVX512;
    else process.env.SWAMP_NATIVE_AVX512 = saved;
  }
});

/** 3×3 stride-1 convolutions wide enough for the Winograd kernels (native/src/winograd.c): sizes
 * that leave partial 4×4 tiles on either edge, and every padding. */
function winogradCases(count: number): ConvCase[] {
  const pick = <T>(options: readonly T[]): T => options[Math.floor(random.next() * options.length)]!;
  return Array.from({ length: count }, (_, i) => ({
    label: `winograd ${i}`,
    input: [3 + Math.floor(random.next() * 12), 3 + Math.floor(random.next() * 12), pick([16, 24, 40, 64])] as [number, number, number],
    filter: [3, 3] as [number, number],
    outChannels: pick([16, 20, 48, 72]),
    strides: 1,
    pad: pick<Pad>(["same", "valid", 2, [[0, 0], [0, 2], [1, 0], [0, 0]]]),
  }));
}

test("Winograd F(4x4, 3x3): random 3x3 stride-1 shapes with partial edge tiles, 16 to 72 channels, every padding", async () => {
  for (const c of winogradCases(16)) await checkCase(c, true);
});

// With the Winograd kernels off, Conv-4's wide layers take im2col + GEMM again: that path stays checked.
test("SWAMP_NATIVE_WINOGRAD=0: Conv-4's layers on im2col + GEMM", async () => {
  process.env.SWAMP_NATIVE_WINOGRAD = "0";
  try {
    for (const c of modelCases(28, 1).filter((m) => m.label.startsWith("conv-n conv") && m.input[2] >= 64)) await checkCase(c, true);
  } finally {
    delete process.env.SWAMP_NATIVE_WINOGRAD;
  }
});

test("dilated convolutions (forward only: TF.js has no dilated convolution gradients)", async () => {
  await checkCase({ label: "dilation 2", input: [9, 10, 3], filter: [3, 3], outChannels: 4, strides: 1, pad: "same", dilations: 2 }, false);
  await checkCase({ label: "dilation 2x3", input: [11, 12, 2], filter: [3, 2], outChannels: 3, strides: 1, pad: "valid", dilations: [2, 3] }, false);
  await checkCase({ label: "dilation 2, 16 channels", input: [10, 9, 8], filter: [3, 3], outChannels: 16, strides: 1, pad: "same", dilations: 2 }, false);
});

test("a convolution's gradients through tf.grads (BatchNorm-free conv-block) match", async () => {
  const x = randomValues(random, [2, 14, 14, 8]);
  const w = randomValues(random, [3, 3, 8, 16]);
  const b = randomValues(random, [16]);
  for (const wrt of [0, 1, 2]) {
    const error = await compareWithCpu(() => {
      const f = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.conv2d({ x: xs as tf.Tensor4D, filter: ws as tf.Tensor4D, strides: 2, pad: "same", bias: bs, activation: "relu" })));
      return tf.grads(f)([tf.tensor(x, [2, 14, 14, 8]), tf.tensor(w, [3, 3, 8, 16]), tf.tensor(b, [16])])[wrt]!;
    });
    assert.ok(error < TOLERANCE, `gradient ${wrt}: relative error ${error}`);
  }
});
