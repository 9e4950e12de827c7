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

function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** One 0/1 byte per weight of a tensor whose bits start at bit `offset` of the packed mask. */
function unpackBits(bits: Uint8Array, offset: number, size: number): Uint8Array {
  const keep = new Uint8Array(size);
  let j = 0;
  // Bit by bit up to a byte boundary, then eight at a time.
  for (; j < size && (offset + j) & 7; j++) keep[j] = (bits[(offset + j) >> 3]! >> ((offset + j) & 7)) & 1;
  let byteAt = (offset + j) >> 3;
  for (; j + 8 <= size; j += 8, byteAt++) {
    const byte = bits[byteAt]!;
    keep[j] = byte & 1;
    keep[j + 1] = (byte >> 1) & 1;
    keep[j + 2] = (byte >> 2) & 1;
    keep[j + 3] = (byte >> 3) & 1;
    keep[j + 4] = (byte >> 4) & 1;
    keep[j + 5] = (byte >> 5) & 1;
    keep[j + 6] = (byte >> 6) & 1;
    keep[j + 7] = byte >> 7;
  }
  for (; j < size; j++) keep[j] = (bits[(offset + j) >> 3]! >> ((offset + j) & 7)) & 1;
  return keep;
}

/** Survivors of a tensor under its 0/1 mask, and whether every pruned value is +0 bit for bit. */
function survey(values: Float32Array, keep: Uint8Array): { alive: number; prunedAreZero: boolean } {
  const raw = new Int32Array(values.buffer, values.byteOffset, values.length);
  let alive = 0;
  let prunedBits = 0;
  for (let j = 0; j < raw.length; j++) {
    const bit = keep[j]!;
    alive += bit;
    prunedBits |= raw[j]! & (bit - 1);
  }
  return { alive, prunedAreZero: prunedBits === 0 };
}

/** Set bits of each byte value. */
const BITS_SET = Uint8Array.from({ length: 256 }, (_, byte) => {
  let n = 0;
  for (let b = byte; b !== 0; b &= b - 1) n++;
  return n;
});

/** For each byte value, its set bits' positions (ascending), starting at SET_BIT_START[byte]. */
const SET_BIT_START = new Uint16Array(256);
const SET_BIT_POSITIONS = new Uint8Array(1024);
for (let byte = 0, at = 0; byte < 256; byte++) {
  SET_BIT_START[byte] = at;
  for (let b = 0; b < 8; b++) if ((byte >> b) & 1) SET_BIT_POSITIONS[at++] = b;
}

/** Set bits among the `size` bits from bit `offset` (a multiple of 8) on. */
function aliveFrom(bits: Uint8Array, offset: number, size: number): number {
  let alive = 0;
  const first = offset >> 3;
  const whole = size >> 3;
  for (let k = 0; k < whole; k++) alive += BITS_SET[bits[first + k]!]!;
  for (let j = whole * 8; j < size; j++) alive += (bits[first + (j >> 3)]! >> (j & 7)) & 1;
  return alive;
}

/** The index after the last surviving weight: the branch-free loops below stay in bounds up to it. */
function endOfSurvivors(keep: Uint8Array): number {
  let end = keep.length;
  while (end > 0 && keep[end - 1] === 0) end--;
  return end;
}

/**
 * A model's weights under a packed mask (bits over the `prunable` entries, in entry order): the
 * masked format when the mask prunes anything, else the dense format (cycle 0 trains dense).
 */
export function encodeStoredWeights(values: WeightsFileValues, entries: WeightsHeaderEntry[], prunable: readonly boolean[], maskBits: Uint8Array | null): Buffer {
  if (values.length !== entries.length || prunable.length !== entries.length) throw new Error(`encodeStoredWeights: ${values.length} tensors, ${prunable.length} prunable flags for ${entries.length} entries`);
  const total = values.reduce((sum, v, i) => sum + (prunable[i] ? v.length : 0), 0);
  if (maskBits === null) return encodeWeights(values, entries);
  if (maskBits.length !== Math.ceil(total / 8)) throw new Error(`encodeStoredWeights: mask has ${maskBits.length} bytes for ${total} prunable weights`);
  const offsets: number[] = [];
  let offset = 0;
  const counts = values.map((v, i) => {
    offsets.push(offset);
    if (!prunable[i]) return v.length;
    const alive = (offset & 7) === 0 ? aliveFrom(maskBits, offset, v.length) : survey(v, unpackBits(maskBits, offset, v.length)).alive;
    offset += v.length;
    return alive;
  });
  if (counts.every((count, i) => count === values[i]!.length)) return encodeWeights(values, entries);
  // Every prunable tensor as survivors, unless writing it finds a pruned value that is not +0.
  const dense = new Set<number>();
  for (;;) {
    const stored = values.map((_, i): MaskedHeaderEntry["stored"] => (prunable[i] && !dense.has(i) ? "survivors" : "dense"));
    const written = writeMasked(values, entries, prunable, maskBits, offsets, counts, stored);
    if (typeof written !== "number") return written;
    dense.add(written);
  }
}

/** The masked file, or the position of a tensor that cannot be stored as survivors. */
function writeMasked(
  values: WeightsFileValues,
  entries: WeightsHeaderEntry[],
  prunable: readonly boolean[],
  maskBits: Uint8Array,
  offsets: readonly number[],
  counts: readonly number[],
  stored: ReadonlyArray<MaskedHeaderEntry["stored"]>,
): Buffer | number {
  const header: MaskedWeightsHeader = {
    version: MASKED_WEIGHTS_VERSION,
    mask: { sha256: sha256Of(maskBits), bytes: maskBits.length },
    entries: entries.map((e, i) => ({ name: e.name, shape: e.shape, prunable: prunable[i]!, stored: stored[i]! })),
  };
  let headerText = JSON.stringify(header);
  // Padded so the values start 4-byte aligned: they are written and read in place.
  headerText += " ".repeat((4 - ((8 + Buffer.byteLength(headerText)) % 4)) % 4);
  const headerLength = Buffer.byteLength(headerText);
  const floats = values.reduce((n, v, i) => n + (stored[i] === "survivors" ? counts[i]! : v.length), 0);
  const bodyLength = 8 + headerLength + floats * 4;
  const file = Buffer.allocUnsafeSlow(bodyLength + 32);
  file.write(MASKED_MAGIC, 0, "ascii");
  file.writeUInt32LE(headerLength, 4);
  file.write(headerText, 8, "utf8");
  const out = new Int32Array(file.buffer, file.byteOffset + 8 + headerLength, floats);
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const raw = new Int32Array(v.buffer, v.byteOffset, v.length);
    if (stored[i] === "dense") {
      out.set(raw, at);
      at += v.length;
      continue;
    }
    // Branch-free compaction, bits copied as integers: every value is written, only survivors
    // advance (a write past the end of `out` is dropped, one into the next tensor overwritten).
    const size = v.length;
    const offset = offsets[i]!;
    let prunedBits = 0;
    if ((offset & 7) === 0) {
      let byteAt = offset >> 3;
      let j = 0;
      for (; j + 8 <= size; j += 8, byteAt++) {
        const byte = maskBits[byteAt]!;
        for (let b = 0; b < 8; b++) {
          const bit = (byte >> b) & 1;
          const x = raw[j + b]!;
          out[at] = x;
          prunedBits |= x & (bit - 1);
          at += bit;
        }
      }
      for (; j < size; j++) {
        const bit = (maskBits[byteAt]! >> (j & 7)) & 1;
        const x = raw[j]!;
        out[at] = x;
        prunedBits |= x & (bit - 1);
        at += bit;
      }
    } else {
      const keep = unpackBits(maskBits, offset, size);
      for (let j = 0; j < size; j++) {
        const bit = keep[j]!;
        const x = raw[j]!;
        out[at] = x;
        prunedBits |= x & (bit - 1);
        at += bit;
      }
    }
    if (prunedBits !== 0) return i;
  }
  createHash("sha256").update(file.subarray(0, bodyLength)).digest().copy(file, bodyLength);
  return file;
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
  const start = 8 + headerLength;
  const floatCount = Math.floor((body.length - start) / 4);
  if (start + floatCount * 4 !== body.length) throw new Error(`${source}: ${(body.length - start) % 4} unexpected trailing bytes`);
  // The values in place when aligned (they are, in files this module wrote and Node read), else a copy.
  const data = (body.byteOffset + start) % 4 === 0 ? new Int32Array(body.buffer, body.byteOffset + start, floatCount) : new Int32Array(Uint8Array.from(body.subarray(start)).buffer);
  let at = 0;
  let offset = 0;
  const take = (count: number, name: string): void => {
    if (at + count > floatCount) throw new Error(`${source}: tensor ${name} runs past the end of the file`);
  };
  const values = header.entries.map((entry) => {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.prunable && offset + size > header.mask.bytes * 8) throw new Error(`${source}: the mask covers fewer weights than tensor ${entry.name} needs`);
    if (entry.prunable && entry.stored === "survivors" && (offset & 7) === 0) {
      // The common case, a tensor starting on a mask byte: eight weights per mask byte.
      const alive = aliveFrom(maskBits, offset, size);
      take(alive, entry.name);
      const raw = new Int32Array(size);
      let byteAt = offset >> 3;
      let j = 0;
      for (; j + 8 <= size; j += 8, byteAt++) {
        const byte = maskBits[byteAt]!;
        if (byte === 0xff) {
          raw[j] = data[at]!;
          raw[j + 1] = data[at + 1]!;
          raw[j + 2] = data[at + 2]!;
          raw[j + 3] = data[at + 3]!;
          raw[j + 4] = data[at + 4]!;
          raw[j + 5] = data[at + 5]!;
          raw[j + 6] = data[at + 6]!;
          raw[j + 7] = data[at + 7]!;
          at += 8;
          continue;
        }
        // Only the set bits: their positions within the byte, from a table.
        const first = SET_BIT_START[byte]!;
        const count = BITS_SET[byte]!;
        for (let k = 0; k < count; k++) raw[j + SET_BIT_POSITIONS[first + k]!] = data[at++]!;
      }
      for (; j < size; j++) {
        const bit = (maskBits[byteAt]! >> (j & 7)) & 1;
        raw[j] = data[at]! & -bit;
        at += bit;
      }
      offset += size;
      return new Float32Array(raw.buffer);
    }
    const keep = entry.prunable ? unpackBits(maskBits, offset, size) : null;
    if (entry.prunable) offset += size;
    if (entry.stored === "dense" || !keep) {
      take(size, entry.name);
      const v = new Float32Array(data.slice(at, at + size).buffer);
      at += size;
      return v;
    }
    let alive = 0;
    for (let j = 0; j < size; j++) alive += keep[j]!;
    take(alive, entry.name);
    // Branch-free scatter: pruned entries get the next survivor's bits masked to +0.
    const raw = new Int32Array(size);
    const end = endOfSurvivors(keep);
    for (let j = 0; j < end; j++) {
      const bit = keep[j]!;
      raw[j] = data[at]! & -bit;
      at += bit;
    }
    return new Float32Array(raw.buffer);
  });
  if (at !== floatCount) throw new Error(`${source}: ${(floatCount - at) * 4} unexpected trailing bytes`);
  return { values, entries: header.entries.map((e) => ({ name: e.name, shape: e.shape })) };
}
