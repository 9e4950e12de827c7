/**
 * Tile for wasm. tfjs-backend-wasm 4.22's Tile computes every output element's source index on
 * its own (about 200 ns an element); tfjs-core's BatchNorm gradient tiles a per-channel vector to
 * the whole activation, which made Tile half of a ResNet-20 training step. Here the output is
 * built from block copies: each input row once, then every repetition by doubling what is already
 * written, so a tile costs a few memmoves.
 */
import { Tile, type KernelConfig, type KernelFunc, type TensorInfo, type TileAttrs } from "@tensorflow/tfjs-core";
import { callStock } from "./kernel-calls.js";
import { asWasmBackend, byteOffset, sizeOf } from "./wasm-backend.js";

const ELEMENT_BYTES: Record<string, number | undefined> = { float32: 4, int32: 4, bool: 1 };

/** Copies heap[from, from + bytes) to heap[to, ...) `times` times, by doubling. */
function repeatBlock(heap: Uint8Array, at: number, bytes: number, times: number): void {
  const total = bytes * times;
  for (let done = bytes; done < total; ) {
    const chunk = Math.min(done, total - done);
    heap.copyWithin(at + done, at, at + chunk);
    done += chunk;
  }
}

const tile: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const { reps } = attrs as unknown as TileAttrs;
  const wasm = asWasmBackend(backend);
  const elementBytes = ELEMENT_BYTES[x.dtype];
  if (elementBytes === undefined || reps.length !== x.shape.length) return callStock(Tile, wasm, { x }, attrs ?? {});
  const inShape = x.shape;
  const outShape = inShape.map((d, i) => d * reps[i]!);
  const out = wasm.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  const heap = wasm.wasm.HEAPU8;
  const rank = inShape.length;
  // bytes of one output block below axis j, and of one input step along axis j
  const outBlock = new Array<number>(rank + 1).fill(elementBytes);
  const inStep = new Array<number>(rank + 1).fill(elementBytes);
  for (let j = rank - 1; j >= 0; j--) {
    outBlock[j] = outBlock[j + 1]! * outShape[j]!;
    inStep[j] = inStep[j + 1]! * inShape[j]!;
  }
  const fill = (axis: number, outAt: number, inAt: number): void => {
    if (axis === rank) {
      heap.copyWithin(outAt, inAt, inAt + elementBytes);
      return;
    }
    if (axis === rank - 1) {
      heap.copyWithin(outAt, inAt, inAt + inStep[axis]!);
    } else {
      for (let i = 0; i < inShape[axis]!; i++) fill(axis + 1, outAt + i * outBlock[axis + 1]!, inAt + i * inStep[axis + 1]!);
    }
    repeatBlock(heap, outAt, inShape[axis]! * outBlock[axis + 1]!, reps[axis]!);
  };
  fill(0, byteOffset(wasm, out), byteOffset(wasm, x));
  return out;
};

export const tileConfig: KernelConfig = { kernelName: Tile, backendName: "wasm", kernelFunc: tile };
