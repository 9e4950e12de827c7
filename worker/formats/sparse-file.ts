/**
 * The compact sparse model file: for each prunable weight a bit mask and only its surviving
 * values; every other weight (biases, BatchNorm) dense. A sha256 of the contents closes the file.
 *
 *   "SWSP" | u32 header length | header JSON | for each tensor in order:
 *     prunable: ceil(size/8) mask bytes (LSB first), then alive × float32
 *     dense:    size × float32
 *   | sha256 (32 bytes)
 * The header lists {name, layer, shape, prunable, alive} per tensor, the format version and the
 * run's config hash.
 */
import { createHash } from "node:crypto";
import type { Mask } from "../engine/mask.js";
import { packMask, unpackMask } from "../../schema/mask-bits.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";

const MAGIC = "SWSP";
export const SPARSE_FORMAT_VERSION = 1;

export interface SparseHeaderTensor {
  name: string;
  layer: string;
  shape: number[];
  prunable: boolean;
  alive: number;
}

export interface SparseHeader {
  format: "swamp-sparse";
  version: number;
  configHash: string;
  cycle: number;
  tensors: SparseHeaderTensor[];
}

export function encodeSparse(values: WeightValues, mask: Mask, layout: WeightLayout, meta: { configHash: string; cycle: number }): Buffer {
  const parts: Buffer[] = [];
  const tensors: SparseHeaderTensor[] = layout.entries.map((entry, i) => {
    const prunableIndex = layout.prunable.indexOf(i);
    if (prunableIndex < 0) {
      parts.push(Buffer.from(Float32Array.from(values[i]!).buffer));
      return { name: entry.name, layer: entry.layer, shape: entry.shape, prunable: false, alive: entry.size };
    }
    const keep = mask[prunableIndex]!;
    const survivors: number[] = [];
    keep.forEach((bit, j) => bit && survivors.push(values[i]![j]!));
    parts.push(Buffer.from(packMask([keep])), Buffer.from(Float32Array.from(survivors).buffer));
    return { name: entry.name, layer: entry.layer, shape: entry.shape, prunable: true, alive: survivors.length };
  });
  const header: SparseHeader = { format: "swamp-sparse", version: SPARSE_FORMAT_VERSION, configHash: meta.configHash, cycle: meta.cycle, tensors };
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(8);
  prefix.write(MAGIC, 0, "ascii");
  prefix.writeUInt32LE(headerBytes.length, 4);
  const body = Buffer.concat([prefix, headerBytes, ...parts]);
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

/** Reads a sparse file back into dense tensors (pruned values zero) and its mask. */
export function decodeSparse(file: Buffer, source = "sparse file"): { header: SparseHeader; values: WeightValues; mask: Mask } {
  if (file.length < 8 + 32 || file.toString("ascii", 0, 4) !== MAGIC) throw new Error(`${source}: not a swamp sparse file (bad magic or too short)`);
  const body = file.subarray(0, file.length - 32);
  if (!createHash("sha256").update(body).digest().equals(file.subarray(file.length - 32))) throw new Error(`${source}: checksum mismatch (file is corrupted or truncated)`);
  const headerLength = body.readUInt32LE(4);
  const header = JSON.parse(body.toString("utf8", 8, 8 + headerLength)) as SparseHeader;
  if (header.format !== "swamp-sparse" || header.version !== SPARSE_FORMAT_VERSION) throw new Error(`${source}: unsupported format ${header.format} v${header.version}`);
  let offset = 8 + headerLength;
  const take = (bytes: number): Buffer => {
    if (offset + bytes > body.length) throw new Error(`${source}: data runs past the end of the file`);
    const slice = body.subarray(offset, offset + bytes);
    offset += bytes;
    return slice;
  };
  const floats = (count: number): Float32Array => {
    const out = new Float32Array(count);
    Buffer.from(out.buffer).set(take(count * 4));
    return out;
  };
  const mask: Mask = [];
  const values = header.tensors.map((tensor) => {
    const size = tensor.shape.reduce((a, b) => a * b, 1);
    if (!tensor.prunable) return floats(size);
    const [keep] = unpackMask(Uint8Array.from(take(Math.ceil(size / 8))), [size]);
    const survivors = floats(tensor.alive);
    const dense = new Float32Array(size);
    let k = 0;
    keep!.forEach((bit, j) => {
      if (bit) dense[j] = survivors[k++]!;
    });
    if (k !== tensor.alive) throw new Error(`${source}: tensor ${tensor.name} mask has ${k} survivors, header says ${tensor.alive}`);
    mask.push(keep!);
    return dense;
  });
  if (offset !== body.length) throw new Error(`${source}: ${body.length - offset} unexpected trailing bytes`);
  return { header, values, mask };
}
