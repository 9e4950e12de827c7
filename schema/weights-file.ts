/**
 * The engine's dense weights file: every weight tensor of a model, by position, exactly as
 * float32, with a sha256 over the contents so a truncated or altered file is caught on read.
 * The workers write it; the server reads it back for weight exports, so it depends on nothing
 * of the engine.
 *
 *   "SWT1" | u32 header length | header JSON {entries: [{name, shape}]} | float32 values… | sha256 (32 bytes)
 */
import { createHash } from "node:crypto";

/** Every tensor's values, in header order. */
export type WeightsFileValues = Float32Array[];

const MAGIC = "SWT1";

export interface WeightsHeaderEntry {
  name: string;
  shape: number[];
}

/** The header entries of a model's weights: each tensor's name and shape, in layout order. */
export function weightsHeader(layout: { entries: readonly WeightsHeaderEntry[] }): WeightsHeaderEntry[] {
  return layout.entries.map((e) => ({ name: e.name, shape: e.shape }));
}

export function encodeWeights(values: WeightsFileValues, entries: WeightsHeaderEntry[]): Buffer {
  if (values.length !== entries.length) throw new Error(`encodeWeights: ${values.length} tensors for ${entries.length} entries`);
  const header = Buffer.from(JSON.stringify({ entries }), "utf8");
  const body = Buffer.alloc(8 + header.length + values.reduce((n, v) => n + v.byteLength, 0));
  body.write(MAGIC, 0, "ascii");
  body.writeUInt32LE(header.length, 4);
  header.copy(body, 8);
  let offset = 8 + header.length;
  for (const v of values) {
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(body, offset);
    offset += v.byteLength;
  }
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

export function decodeWeights(file: Buffer, source = "weights file"): { values: WeightsFileValues; entries: WeightsHeaderEntry[] } {
  if (file.length < 8 + 32 || file.toString("ascii", 0, 4) !== MAGIC) throw new Error(`${source}: not a swamp weights file (bad magic or too short)`);
  const body = file.subarray(0, file.length - 32);
  if (!createHash("sha256").update(body).digest().equals(file.subarray(file.length - 32))) throw new Error(`${source}: checksum mismatch (file is corrupted or truncated)`);
  const headerLength = body.readUInt32LE(4);
  const { entries } = JSON.parse(body.toString("utf8", 8, 8 + headerLength)) as { entries: WeightsHeaderEntry[] };
  let offset = 8 + headerLength;
  const values = entries.map((entry) => {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (offset + size * 4 > body.length) throw new Error(`${source}: tensor ${entry.name} runs past the end of the file`);
    const v = new Float32Array(size);
    Buffer.from(v.buffer).set(body.subarray(offset, offset + size * 4));
    offset += size * 4;
    return v;
  });
  if (offset !== body.length) throw new Error(`${source}: ${body.length - offset} unexpected trailing bytes`);
  return { values, entries };
}

/**
 * The masked weights file (format version 2): a model trained under a known mask stores only the
 * values of its surviving weights; the mask itself is stored once per cycle (the run directory's
 * `mask.bin`, the fleet's mask artifact) and named here by its sha256, so every particle and
 * average of a cycle shares it. Tensors outside the mask (biases, BatchNorm) are stored as they are.
 *
 *   "SWT2" | u32 header length | header JSON | per tensor: survivors or all values, float32 | sha256 (32 bytes)
 *   header: {version: 2, mask: {sha256, bytes}, entries: [{name, shape, prunable, stored}]}
 *
 * `prunable` entries take the mask's bits in entry order. A prunable tensor is stored as
 * "survivors" only when every pruned value is +0 bit for bit, so a load is always bit-exact; any
 * other tensor is "dense".
 */
const MASKED_MAGIC = "SWT2";
export const MASKED_WEIGHTS_VERSION = 2;

export interface MaskedHeaderEntry extends WeightsHeaderEntry {
  prunable: boolean;
  stored: "survivors" | "dense";
}

export interface MaskedWeightsHeader {
  version: number;
  mask: MaskReference;
  entries: MaskedHeaderEntry[];
}

/** The mask a masked weights file was written under: its packed bits' sha256 and length. */
export interface MaskReference {
  sha256: string;
  bytes: number;
}

function maskBit(bits: Uint8Array, offset: number): number {
  return (bits[offset >> 3]! >> (offset & 7)) & 1;
}

function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** True when every one of the first `total` bits is set (a dense mask: nothing to leave out). */
function allSet(bits: Uint8Array, total: number): boolean {
  for (let i = 0; i < total; i++) if (maskBit(bits, i) === 0) return false;
  return true;
}

/**
 * A model's weights under a packed mask (bits over the `prunable` entries, in entry order): the
 * masked format when the mask prunes anything, else the dense format (cycle 0 trains dense).
 */
export function encodeStoredWeights(values: WeightsFileValues, entries: WeightsHeaderEntry[], prunable: readonly boolean[], maskBits: Uint8Array | null): Buffer {
  if (values.length !== entries.length || prunable.length !== entries.length) throw new Error(`encodeStoredWeights: ${values.length} tensors, ${prunable.length} prunable flags for ${entries.length} entries`);
  const total = values.reduce((sum, v, i) => sum + (prunable[i] ? v.length : 0), 0);
  if (maskBits === null || allSet(maskBits, total)) return encodeWeights(values, entries);
  if (maskBits.length !== Math.ceil(total / 8)) throw new Error(`encodeStoredWeights: mask has ${maskBits.length} bytes for ${total} prunable weights`);
  const parts: Float32Array[] = [];
  const header: MaskedHeaderEntry[] = [];
  let offset = 0;
  values.forEach((v, i) => {
    const entry = { name: entries[i]!.name, shape: entries[i]!.shape, prunable: prunable[i]! };
    if (!prunable[i]) {
      parts.push(v);
      header.push({ ...entry, stored: "dense" });
      return;
    }
    const bitsOfZero = new Uint32Array(v.buffer, v.byteOffset, v.length);
    let alive = 0;
    let prunedAreZero = true;
    for (let j = 0; j < v.length; j++) {
      if (maskBit(maskBits, offset + j)) alive++;
      else if (bitsOfZero[j] !== 0) prunedAreZero = false;
    }
    if (!prunedAreZero) {
      parts.push(v);
      header.push({ ...entry, stored: "dense" });
    } else {
      const survivors = new Float32Array(alive);
      for (let j = 0, k = 0; j < v.length; j++) if (maskBit(maskBits, offset + j)) survivors[k++] = v[j]!;
      parts.push(survivors);
      header.push({ ...entry, stored: "survivors" });
    }
    offset += v.length;
  });
  const masked: MaskedWeightsHeader = { version: MASKED_WEIGHTS_VERSION, mask: { sha256: sha256Of(maskBits), bytes: maskBits.length }, entries: header };
  return frame(MASKED_MAGIC, Buffer.from(JSON.stringify(masked), "utf8"), parts);
}

function frame(magic: string, header: Buffer, parts: Float32Array[]): Buffer {
  const body = Buffer.alloc(8 + header.length + parts.reduce((n, v) => n + v.byteLength, 0));
  body.write(magic, 0, "ascii");
  body.writeUInt32LE(header.length, 4);
  header.copy(body, 8);
  let at = 8 + header.length;
  for (const v of parts) {
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(body, at);
    at += v.byteLength;
  }
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

/** The mask a stored weights file needs to be read (null for the dense format). Checks the magic only. */
export function storedWeightsMask(file: Uint8Array, source = "weights file"): MaskReference | null {
  const buffer = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buffer.length < 8 + 32) throw new Error(`${source}: not a swamp weights file (too short)`);
  const magic = buffer.toString("ascii", 0, 4);
  if (magic === MAGIC) return null;
  if (magic !== MASKED_MAGIC) throw new Error(`${source}: not a swamp weights file (bad magic ${JSON.stringify(magic)})`);
  const header = JSON.parse(buffer.toString("utf8", 8, 8 + buffer.readUInt32LE(4))) as MaskedWeightsHeader;
  return header.mask;
}

/**
 * Any stored weights file (dense version 1 or masked version 2) back into dense tensors, bit for
 * bit as written. A masked file needs its mask's packed bits, which are checked against the sha256
 * the file names.
 */
export function decodeStoredWeights(file: Uint8Array, source = "weights file", maskBits?: Uint8Array | null): { values: WeightsFileValues; entries: WeightsHeaderEntry[] } {
  const buffer = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buffer.length >= 4 && buffer.toString("ascii", 0, 4) === MAGIC) return decodeWeights(buffer, source);
  if (buffer.length < 8 + 32 || buffer.toString("ascii", 0, 4) !== MASKED_MAGIC) throw new Error(`${source}: not a swamp weights file (bad magic or too short)`);
  const body = buffer.subarray(0, buffer.length - 32);
  if (!createHash("sha256").update(body).digest().equals(buffer.subarray(buffer.length - 32))) throw new Error(`${source}: checksum mismatch (file is corrupted or truncated)`);
  const headerLength = body.readUInt32LE(4);
  const header = JSON.parse(body.toString("utf8", 8, 8 + headerLength)) as MaskedWeightsHeader;
  if (header.version !== MASKED_WEIGHTS_VERSION) throw new Error(`${source}: unsupported weights format version ${header.version}`);
  if (!maskBits) throw new Error(`${source}: written under mask sha256:${header.mask.sha256}, which was not given`);
  if (maskBits.length !== header.mask.bytes || sha256Of(maskBits) !== header.mask.sha256) throw new Error(`${source}: the given mask is not the one it was written under (sha256:${header.mask.sha256})`);
  let at = 8 + headerLength;
  let offset = 0;
  const take = (count: number, name: string): Float32Array => {
    if (at + count * 4 > body.length) throw new Error(`${source}: tensor ${name} runs past the end of the file`);
    const v = new Float32Array(count);
    Buffer.from(v.buffer).set(body.subarray(at, at + count * 4));
    at += count * 4;
    return v;
  };
  const values = header.entries.map((entry) => {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.prunable) {
      if (offset + size > header.mask.bytes * 8) throw new Error(`${source}: the mask covers fewer weights than tensor ${entry.name} needs`);
    }
    let v: Float32Array;
    if (entry.stored === "dense") v = take(size, entry.name);
    else {
      let alive = 0;
      for (let j = 0; j < size; j++) alive += maskBit(maskBits, offset + j);
      const survivors = take(alive, entry.name);
      v = new Float32Array(size);
      for (let j = 0, k = 0; j < size; j++) if (maskBit(maskBits, offset + j)) v[j] = survivors[k++]!;
    }
    if (entry.prunable) offset += size;
    return v;
  });
  if (at !== body.length) throw new Error(`${source}: ${body.length - at} unexpected trailing bytes`);
  return { values, entries: header.entries.map((e) => ({ name: e.name, shape: e.shape })) };
}
