/**
 * Add, Sub and Multiply of an activation and a per-channel vector (a bias; BatchNorm's scale,
 * shift and statistics in its gradient) for wasm. tfjs-backend-wasm 4.22 broadcasts through a
 * general index loop (~5 ns an element); here the project's row-vector routine streams the
 * activation once with SIMD. Any other shapes or dtypes go to the stock kernels.
 */
import { Add, broadcast_util, Multiply, Sub, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { ROW_VECTOR_OPS, type RowVectorOp } from "./heap-routines.js";
import { callStock } from "./kernel-calls.js";
import { allocate, asWasmBackend, floatOffset, routinesFor, sizeOf } from "./wasm-backend.js";

/** The trailing block `small` repeats over in `big`, when `small` is exactly big's last axes (leading 1s aside). */
function repeatedBlock(big: TensorInfo, small: TensorInfo): number | undefined {
  let first = 0;
  while (first < small.shape.length && small.shape[first] === 1) first++;
  const core = small.shape.slice(first);
  if (core.length === 0 || core.length > big.shape.length) return undefined;
  const trailing = big.shape.slice(big.shape.length - core.length);
  return trailing.every((dim, i) => dim === core[i]) ? sizeOf(core) : undefined;
}

function rowVectorKernel(kernelName: string, op: RowVectorOp): KernelFunc {
  return ({ inputs, backend }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const wasm = asWasmBackend(backend);
    const sizeA = sizeOf(a.shape);
    const sizeB = sizeOf(b.shape);
    if (a.dtype === "float32" && b.dtype === "float32" && sizeA > 0 && sizeB > 0 && sizeA !== sizeB) {
      const [big, small] = sizeA > sizeB ? [a, b] : [b, a];
      const cols = repeatedBlock(big, small);
      const outShape = broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
      if (cols !== undefined && sizeOf(outShape) === sizeOf(big.shape)) {
        const out = allocate(wasm, outShape);
        const rows = sizeOf(big.shape) / cols;
        routinesFor(wasm).rowVectorOp(floatOffset(wasm, big), rows, cols, floatOffset(wasm, small), floatOffset(wasm, out), op, small === a);
        return out;
      }
    }
    return callStock(kernelName, wasm, { a, b });
  };
}

export const addConfig: KernelConfig = { kernelName: Add, backendName: "wasm", kernelFunc: rowVectorKernel(Add, ROW_VECTOR_OPS.add) };
export const subConfig: KernelConfig = { kernelName: Sub, backendName: "wasm", kernelFunc: rowVectorKernel(Sub, ROW_VECTOR_OPS.subtract) };
export const multiplyConfig: KernelConfig = { kernelName: Multiply, backendName: "wasm", kernelFunc: rowVectorKernel(Multiply, ROW_VECTOR_OPS.multiply) };
