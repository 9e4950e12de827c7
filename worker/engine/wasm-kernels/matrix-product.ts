/**
 * Matrix products at SIMD speed whatever the transposes.
 *
 * tfjs-backend-wasm 4.22 multiplies on XNNPACK only when neither operand is transposed and there is
 * a single matrix per operand; everything else falls into a scalar loop that is 10-40x slower (and
 * whose fused bias is wrong once the shared dimension exceeds its 48-wide blocks). Every backward
 * pass of a dense layer multiplies by a transpose. Here each product takes the cheapest of: the
 * transposed operand rearranged with the (fast) Transpose kernel and the product untransposed on
 * XNNPACK, the same with the operands' roles swapped, or the project's own SIMD products (which
 * need no packing). Batched products run one matrix at a time on the same paths.
 */
import { broadcast_util, type TensorInfo } from "@tensorflow/tfjs-core";
import { callKernel, callStock } from "./kernel-calls.js";
import { allocate, floatOffset, heapF32, release, routinesFor, sizeOf, withShape, type WasmBackend } from "./wasm-backend.js";

export type FusedActivation = "linear" | "relu" | "relu6" | "prelu" | "leakyrelu" | "sigmoid" | "elu";

/** What _FusedMatMul applies to the product: out = activation(product + bias). */
export interface Epilogue {
  bias?: TensorInfo;
  activation: FusedActivation;
  preluActivationWeights?: TensorInfo;
  leakyreluAlpha?: number;
}

/** Activations XNNPACK applies as an output clamp inside the product. */
const CLAMP_ACTIVATIONS: ReadonlySet<FusedActivation> = new Set<FusedActivation>(["linear", "relu", "relu6"]);

function isIdentity(epilogue: Epilogue | undefined): boolean {
  return !epilogue || (epilogue.activation === "linear" && !epilogue.bias);
}

/** Whether stock _FusedMatMul on XNNPACK computes this epilogue correctly for an N-column output. */
function fusesOnXnn(epilogue: Epilogue | undefined, columns: number): boolean {
  if (isIdentity(epilogue)) return true;
  if (!CLAMP_ACTIVATIONS.has(epilogue!.activation)) return false;
  const bias = epilogue!.bias;
  return !bias || (bias.dtype === "float32" && bias.shape.length === 1 && bias.shape[0] === columns);
}

/** Bias, then activation, each with its own wasm kernel; consumes `product`. */
export function applyEpilogue(backend: WasmBackend, product: TensorInfo, epilogue: Epilogue | undefined): TensorInfo {
  if (isIdentity(epilogue)) return product;
  const { bias, activation, preluActivationWeights, leakyreluAlpha } = epilogue!;
  let result = product;
  if (bias) {
    const sum = callKernel("Add", backend, { a: result, b: bias });
    release(backend, result);
    result = sum;
  }
  let activated: TensorInfo;
  switch (activation) {
    case "linear":
      return result;
    case "relu":
      activated = callKernel("Relu", backend, { x: result });
      break;
    case "relu6":
      activated = callKernel("Relu6", backend, { x: result });
      break;
    case "prelu":
      if (!preluActivationWeights) throw new Error("_FusedMatMul: activation 'prelu' needs preluActivationWeights");
      activated = callKernel("Prelu", backend, { x: result, alpha: preluActivationWeights });
      break;
    case "leakyrelu":
      activated = callKernel("LeakyRelu", backend, { x: result }, { alpha: leakyreluAlpha ?? 0.2 });
      break;
    case "sigmoid":
      activated = callKernel("Sigmoid", backend, { x: result });
      break;
    case "elu":
      activated = callKernel("Elu", backend, { x: result });
      break;
    default:
      throw new Error(`_FusedMatMul: unknown activation ${JSON.stringify(activation)}`);
  }
  release(backend, result);
  return activated;
}

/** [rows, cols] → [cols, rows] with the wasm Transpose kernel. */
export function transposeMatrix(backend: WasmBackend, matrix: TensorInfo, rows: number, cols: number): TensorInfo {
  return callKernel("Transpose", backend, { x: withShape(matrix, [rows, cols]) }, { perm: [1, 0] });
}

/**
 * a [M, K] · b [K, N] on XNNPACK through the stock kernels, which cache the packed `b` by tensor
 * id (so a weight matrix used again is not repacked). The epilogue must satisfy `fusesOnXnn`.
 */
function untransposedProduct(backend: WasmBackend, a: TensorInfo, b: TensorInfo, m: number, k: number, n: number, epilogue: Epilogue | undefined): TensorInfo {
  const a3 = withShape(a, [1, m, k]);
  const b3 = withShape(b, [1, k, n]);
  const attrs = { transposeA: false, transposeB: false };
  const product = isIdentity(epilogue)
    ? callStock("BatchMatMul", backend, { a: a3, b: b3 }, attrs)
    : callStock("_FusedMatMul", backend, { a: a3, b: b3, bias: epilogue!.bias }, { ...attrs, activation: epilogue!.activation, leakyreluAlpha: 0 });
  return withShape(product, [m, n]);
}

/**
 * Costs measured on tfjs-backend-wasm 4.22 and the project's routines (one core, ns): XNNPACK
 * multiplies fastest, but packs the right-hand operand of every product it has not seen before
 * (by tensor id) at ~13 ns a float, more than the product itself costs per float at LeNet sizes;
 * the project's SIMD products need no packing; the Transpose kernel moves a float in ~1.4 ns.
 * Training sees fresh weights every step, so which operand gets packed, or whether a product
 * avoids packing altogether, decides much of a small product's time.
 */
const XNN_NS_PER_FLOP = 1 / 20;
const NN_NS_PER_FLOP = 1 / 14.5;
const NT_NS_PER_FLOP = 1 / 17;
const PACK_NS = 13;
const MOVE_NS = 1.4;

/** Right-hand operands already packed by XNNPACK (it caches by tensor id until disposal). */
const seenAsRightOperand = new WeakSet<object>();

export type Plan = "xnn" | "xnn-swapped" | "own-nn" | "own-nt";

/** The cheapest way to compute op(a) · op(b) by the costs above. */
export function plan(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, bPacked: boolean, epilogue: Epilogue | undefined): Plan {
  const flops = 2 * m * k * n;
  const epilogueCost = isIdentity(epilogue) ? 0 : 2 * m * n * MOVE_NS;
  const costs: Record<Plan, number> = {
    // b packed as is; a and b transposed first where they are stored transposed
    xnn: flops * XNN_NS_PER_FLOP + (bPacked ? 0 : PACK_NS * k * n) + MOVE_NS * ((transposeA ? m * k : 0) + (transposeB ? k * n : 0)) + (fusesOnXnn(epilogue, n) ? 0 : epilogueCost),
    // (op(b)ᵀ · op(a)ᵀ)ᵀ: op(a)ᵀ packed, the output transposed back
    "xnn-swapped": flops * XNN_NS_PER_FLOP + PACK_NS * k * m + MOVE_NS * ((transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + m * n) + epilogueCost,
    // a [M, K] and b [K, N] rows, broadcast-multiply (no horizontal sums)
    "own-nn": flops * NN_NS_PER_FLOP + MOVE_NS * ((transposeA ? m * k : 0) + (transposeB ? k * n : 0)) + epilogueCost,
    // a [M, K] and bᵀ [N, K] rows, dot products: a transposed-b product needs no moves at all
    "own-nt": flops * NT_NS_PER_FLOP + MOVE_NS * ((transposeA ? m * k : 0) + (transposeB ? 0 : k * n)) + epilogueCost,
  };
  let best: Plan = "xnn";
  for (const candidate of Object.keys(costs) as Plan[]) if (costs[candidate] < costs[best]) best = candidate;
  return best;
}

/** a [M, K] · b ([K, N] rows, or [N, K] rows when bRowsAreColumns) by the project's SIMD routines. */
function ownProduct(backend: WasmBackend, a: TensorInfo, b: TensorInfo, m: number, k: number, n: number, bRowsAreColumns: boolean): TensorInfo {
  const out = allocate(backend, [m, n]);
  const routines = routinesFor(backend);
  const [aAt, bAt, outAt] = [floatOffset(backend, a), floatOffset(backend, b), floatOffset(backend, out)];
  if (bRowsAreColumns) routines.productNT(aAt, k, bAt, k, outAt, n, m, n, k, false);
  else routines.productNN(aAt, k, bAt, n, outAt, n, m, n, k, false);
  return out;
}

/**
 * One product op(a) · op(b) = [M, N], where a is stored [M, K] or (transposeA) [K, M] and b is
 * stored [K, N] or (transposeB) [N, K], by the cheapest plan; the epilogue is applied here too.
 * A b seen before as an untransposed right operand is already packed, so repeated products with
 * fixed weights (evaluation) keep XNNPACK's cache.
 */
function matrixProduct(backend: WasmBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, m: number, k: number, n: number, epilogue: Epilogue | undefined): TensorInfo {
  const bPacked = !transposeB && seenAsRightOperand.has(b.dataId);
  const chosen = plan(m, k, n, transposeA, transposeB, bPacked, epilogue);
  if (chosen === "own-nn" || chosen === "own-nt") {
    const left = transposeA ? transposeMatrix(backend, a, k, m) : a;
    const wantRows = chosen === "own-nt";
    // own-nt wants b as [N, K] rows (stored so when transposeB), own-nn as [K, N] rows
    const right = wantRows === transposeB ? b : transposeMatrix(backend, b, transposeB ? n : k, transposeB ? k : n);
    const product = ownProduct(backend, left, right, m, k, n, wantRows);
    if (left !== a) release(backend, left);
    if (right !== b) release(backend, right);
    return applyEpilogue(backend, product, epilogue);
  }
  if (!transposeB) seenAsRightOperand.add(b.dataId);
  if (chosen === "xnn-swapped") {
    // (op(b)ᵀ · op(a)ᵀ)ᵀ: op(b)ᵀ is b itself when transposeB, op(a)ᵀ is a itself when transposeA.
    const left = transposeB ? b : transposeMatrix(backend, b, k, n);
    const right = transposeA ? a : transposeMatrix(backend, a, m, k);
    const swapped = untransposedProduct(backend, left, right, n, k, m, undefined);
    if (left !== b) release(backend, left);
    if (right !== a) release(backend, right);
    const product = transposeMatrix(backend, swapped, n, m);
    release(backend, swapped);
    return applyEpilogue(backend, product, epilogue);
  }
  const fused = fusesOnXnn(epilogue, n);
  const left = transposeA ? transposeMatrix(backend, a, k, m) : a;
  const right = transposeB ? transposeMatrix(backend, b, n, k) : b;
  const product = untransposedProduct(backend, left, right, m, k, n, fused ? epilogue : undefined);
  if (left !== a) release(backend, left);
  if (right !== b) release(backend, right);
  return fused ? product : applyEpilogue(backend, product, epilogue);
}

/** For each flat index of the output's batch shape, the flat batch index of an operand broadcast to it. */
function batchIndexer(outBatch: number[], operandBatch: number[]): (index: number) => number {
  if (sizeOf(operandBatch) === 1) return () => 0;
  const offset = outBatch.length - operandBatch.length;
  return (index) => {
    let remaining = index;
    let operandIndex = 0;
    let operandStride = 1;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      const coordinate = remaining % outBatch[d]!;
      remaining = Math.floor(remaining / outBatch[d]!);
      const od = d - offset;
      if (od >= 0) {
        const dim = operandBatch[od]!;
        if (dim !== 1) operandIndex += coordinate * operandStride;
        operandStride *= dim;
      }
    }
    return operandIndex;
  };
}

/** A copy of matrix `index` of a batch of [rows, cols] matrices. */
function copyMatrix(backend: WasmBackend, source: TensorInfo, index: number, rows: number, cols: number): TensorInfo {
  const copy = allocate(backend, [rows, cols]);
  const heap = heapF32(backend);
  const size = rows * cols;
  const from = floatOffset(backend, source) + index * size;
  heap.copyWithin(floatOffset(backend, copy), from, from + size);
  return copy;
}

/**
 * The whole BatchMatMul / _FusedMatMul contract of tfjs-core: operands of rank ≥ 2 whose leading
 * (batch) dimensions broadcast, float32, optional transposes and epilogue.
 */
export function matMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, epilogue?: Epilogue): TensorInfo {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) throw new Error(`matMul: operands need rank ≥ 2, got shapes [${a.shape}] and [${b.shape}]`);
  const innerA = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const innerB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  if (innerA !== innerB) {
    throw new Error(`Error in matMul: inner shapes (${innerA}) and (${innerB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  const k = innerA;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const outBatch = broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const outShape = [...outBatch, m, n];
  const batches = sizeOf(outBatch);

  if (batches * m * n === 0) return allocate(backend, outShape);
  if (k === 0) {
    const zeros = allocate(backend, outShape);
    heapF32(backend).fill(0, floatOffset(backend, zeros), floatOffset(backend, zeros) + sizeOf(outShape));
    return applyEpilogue(backend, zeros, epilogue);
  }
  const aRows = transposeA ? k : m;
  const aCols = transposeA ? m : k;
  const bRows = transposeB ? n : k;
  const bCols = transposeB ? k : n;
  if (batches === 1 && sizeOf(batchA) === 1 && sizeOf(batchB) === 1) {
    const product = matrixProduct(backend, withShape(a, [aRows, aCols]), withShape(b, [bRows, bCols]), transposeA, transposeB, m, k, n, epilogue);
    return withShape(product, outShape);
  }

  // One matrix at a time. An operand shared by every batch is transposed once, so XNNPACK's
  // packed copy of it (cached by tensor id) serves every product.
  const sharedA = sizeOf(batchA) === 1;
  const sharedB = sizeOf(batchB) === 1;
  const shapedA = withShape(a, [aRows, aCols]);
  const shapedB = withShape(b, [bRows, bCols]);
  const aOnce = sharedA && transposeA ? transposeMatrix(backend, shapedA, aRows, aCols) : undefined;
  const bOnce = sharedB && transposeB ? transposeMatrix(backend, shapedB, bRows, bCols) : undefined;
  const fused = fusesOnXnn(epilogue, n);
  const indexA = batchIndexer(outBatch, batchA);
  const indexB = batchIndexer(outBatch, batchB);
  let out = allocate(backend, outShape);
  for (let i = 0; i < batches; i++) {
    const ai = aOnce ?? (sharedA ? shapedA : copyMatrix(backend, a, indexA(i), aRows, aCols));
    const bi = bOnce ?? (sharedB ? shapedB : copyMatrix(backend, b, indexB(i), bRows, bCols));
    const product = matrixProduct(backend, ai, bi, transposeA && !aOnce, transposeB && !bOnce, m, k, n, fused ? epilogue : undefined);
    const heap = heapF32(backend);
    const from = floatOffset(backend, product);
    heap.copyWithin(floatOffset(backend, out) + i * m * n, from, from + m * n);
    release(backend, product);
    if (!sharedA) release(backend, ai);
    if (!sharedB) release(backend, bi);
  }
  if (aOnce) release(backend, aOnce);
  if (bOnce) release(backend, bOnce);
  if (!fused) out = applyEpilogue(backend, out, epilogue);
  return out;
}
