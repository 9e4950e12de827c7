/**
 * BatchMatMul and _FusedMatMul on the native GEMM, for every combination of transposes (the
 * backward pass of a dense layer multiplies by transposes, which tfjs-backend-wasm runs slowly).
 * Shapes the native path does not cover (non-float32, batch dimensions that broadcast in both
 * operands at once, bias or PReLU weights that are not per-column) go to the replaced kernel.
 */
import { broadcast_util, util, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { prepareEpilogue, type EpilogueInputs } from "./epilogue.js";
import { asWasmBackend, floatOffset, heapF32 } from "../wasm-kernels/wasm-backend.js";

type KernelArgs = Parameters<KernelFunc>[0];

interface MatMulPlan {
  m: number;
  n: number;
  k: number;
  batch: number;
  aBatchStride: number;
  bBatchStride: number;
  outShape: number[];
}

/** Undefined when the native path does not cover these operands. */
export function planMatMul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulPlan | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return undefined;
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const kA = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const kB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  // A mismatch is reported by the replaced kernel, with TF.js's own message.
  if (kA !== kB) return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  let outer: number[];
  try {
    outer = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined;
  }
  const batchA = util.sizeFromShape(outerA);
  const batchB = util.sizeFromShape(outerB);
  const batch = util.sizeFromShape(outer);
  // Each operand either matches the output's batch layout or is a single matrix reused for all.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return undefined;
  return {
    m,
    n,
    k: kA,
    batch,
    aBatchStride: batchA === 1 ? 0 : m * kA,
    bBatchStride: batchB === 1 ? 0 : kA * n,
    outShape: [...outer, m, n],
  };
}

function runMatMul(native: NativeAddon, args: KernelArgs, epilogueInputs: EpilogueInputs | undefined): TensorInfo | undefined {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  const plan = planMatMul(a, b, transposeA, transposeB);
  if (!plan) return undefined;
  const backend = asWasmBackend(args.backend);
  const epilogue = epilogueInputs ? prepareEpilogue(backend, epilogueInputs, plan.n) : undefined;
  if (epilogueInputs && !epilogue) return undefined;
  const out = backend.makeOutput(plan.outShape, "float32");
  const heap = heapF32(backend);
  native.batchMatMul(
    transposeA, transposeB, plan.m, plan.n, plan.k, plan.batch,
    heap, floatOffset(backend, a), plan.aBatchStride,
    heap, floatOffset(backend, b), plan.bBatchStride,
    heap, floatOffset(backend, out),
    ...(epilogue ? epilogue.argumentsFor(heap) : []),
  );
  return out;
}

export function nativeBatchMatMul(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  return (args) => runMatMul(native, args, undefined) ?? requireFallback(fallback, "BatchMatMul")(args);
}

export function nativeFusedMatMul(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const inputs = args.inputs as { bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const attrs = args.attrs as { activation?: string; leakyreluAlpha?: number } | undefined;
    const epilogueInputs: EpilogueInputs = {
      bias: inputs.bias ?? null,
      preluActivationWeights: inputs.preluActivationWeights ?? null,
      activation: attrs?.activation ?? "linear",
      leakyreluAlpha: attrs?.leakyreluAlpha ?? null,
    };
    return runMatMul(native, args, epilogueInputs) ?? requireFallback(fallback, "_FusedMatMul")(args);
  };
}

export function requireFallback(fallback: KernelFunc | undefined, kernelName: string): KernelFunc {
  if (fallback) return fallback;
  return () => {
    throw new Error(`native ${kernelName}: these inputs are not supported natively and the wasm backend has no other ${kernelName} kernel`);
  };
}
