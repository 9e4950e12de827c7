/**
 * A tensor ready to be written to an exchange format (npz, safetensors): its name, element type,
 * shape and little-endian bytes in row-major order.
 */
export type TensorDtype = "float32" | "int32" | "bool";

export interface NamedTensor {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  /** Row-major, little-endian; `bool` is one byte per element (0 or 1). */
  data: Uint8Array;
}

export const DTYPE_BYTES: Record<TensorDtype, number> = { float32: 4, int32: 4, bool: 1 };

export function float32Tensor(name: string, shape: number[], values: Float32Array): NamedTensor {
  return { name, dtype: "float32", shape, data: littleEndianBytes(values) };
}

export function int32Tensor(name: string, shape: number[], values: Int32Array): NamedTensor {
  return { name, dtype: "int32", shape, data: littleEndianBytes(values) };
}

export function boolTensor(name: string, shape: number[], bits: Uint8Array): NamedTensor {
  return { name, dtype: "bool", shape, data: bits };
}

/** Throws unless the bytes hold exactly the shape's elements. */
export function checkTensor(tensor: NamedTensor): void {
  const elements = tensor.shape.reduce((a, b) => a * b, 1);
  if (tensor.data.byteLength !== elements * DTYPE_BYTES[tensor.dtype]) {
    throw new Error(`tensor ${tensor.name}: ${tensor.data.byteLength} bytes for shape [${tensor.shape.join(", ")}] of ${tensor.dtype}`);
  }
}

function littleEndianBytes(values: Float32Array | Int32Array): Uint8Array {
  // Typed arrays use the platform's byte order; every platform Node runs on is little-endian.
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
