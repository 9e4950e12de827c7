/**
 * The safetensors format: u64 (little-endian) header length | header JSON | data. The header maps
 * each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets into the data, which
 * follow one another in header order) and may hold `__metadata__` (string values only). The header
 * is padded with spaces to a multiple of 8 bytes, as the reference implementation does, so the
 * data stays aligned.
 */
import { checkTensor, type NamedTensor, type TensorDtype } from "./named-tensor.js";

const SAFETENSORS_DTYPE: Record<TensorDtype, string> = { float32: "F32", int32: "I32", bool: "BOOL" };

export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of tensors) {
    checkTensor(tensor);
    if (tensor.name === "__metadata__" || Object.hasOwn(header, tensor.name)) throw new Error(`safetensors: tensor name ${tensor.name} is taken`);
    header[tensor.name] = { dtype: SAFETENSORS_DTYPE[tensor.dtype], shape: tensor.shape, data_offsets: [offset, offset + tensor.data.byteLength] };
    offset += tensor.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, " ")]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded.length));
  return Buffer.concat([length, padded, ...tensors.map((t) => t.data)]);
}
