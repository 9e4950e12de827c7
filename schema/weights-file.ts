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
