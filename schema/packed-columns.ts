/**
 * The packed form of metric columns (the `packed…` fields of `MetricColumns`): each column is one
 * base64 string instead of a JSON list, so a history of thousands of points is a few short strings
 * that clients decode without parsing a number per point. Free of Node imports, so the server, the
 * dashboard and the benches share it; clients/python/swamp_client/packed_columns.py is the same
 * format in Python.
 *
 * Integer columns (steps, global steps, times) are "delta runs": unsigned LEB128 varints. Walking
 * the column with the previous entry starting at 0, each run of k ≥ 1 entries that all differ from
 * their predecessor by the same d is the token 2·zigzag(d) + (k > 1 ? 1 : 0), followed, when
 * k > 1, by the varint k; zigzag(d) is 2d for d ≥ 0 and −2d − 1 otherwise. A regular column
 * (steps 0, 1, 2, …) is a few bytes whatever its length; an irregular one about a byte or two per
 * entry.
 *
 * Float columns (epochs, values) are little-endian IEEE-754 doubles, 8 bytes an entry: values are
 * stored as PostgreSQL `double precision` and computed in doubles by the workers (window averages),
 * so a narrower type would change them; this form gives back exactly the stored numbers.
 */

/** Deltas up to this are handled as plain numbers, larger ones (2^50 ms is 35,000 years) as BigInt. */
const PLAIN_DELTA = 2 ** 50;
/** A varint below this decodes exactly as a plain number. */
const PLAIN_LIMIT = 2 ** 52;

export function packIntegers(column: readonly number[], name = "column"): string {
  const bytes: number[] = [];
  let previous = 0;
  for (let start = 0; start < column.length; ) {
    const first = column[start]!;
    if (!Number.isSafeInteger(first)) throw new RangeError(`${name}[${start}] is ${first}, not a safe integer`);
    const delta = first - previous;
    if (Math.abs(delta) >= PLAIN_DELTA) {
      const exact = BigInt(first) - BigInt(previous);
      writeBigVarint(bytes, 2n * (exact >= 0n ? 2n * exact : -2n * exact - 1n));
      previous = first;
      start++;
      continue;
    }
    let end = start + 1;
    while (end < column.length && Number.isSafeInteger(column[end]!) && column[end]! - column[end - 1]! === delta) end++;
    const run = end - start;
    const zigzag = delta >= 0 ? 2 * delta : -2 * delta - 1;
    writeVarint(bytes, 2 * zigzag + (run > 1 ? 1 : 0));
    if (run > 1) writeVarint(bytes, run);
    previous = column[end - 1]!;
    start = end;
  }
  return base64OfBytes(Uint8Array.from(bytes));
}

export function unpackIntegers(packed: string): number[] {
  const bytes = bytesOfBase64(packed);
  const column: number[] = [];
  let previous = 0;
  let at = 0;
  const read = (): number | bigint => {
    let value = 0;
    let scale = 1;
    for (const start = at; at < bytes.length; ) {
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value < PLAIN_LIMIT ? value : bigVarint(bytes, start);
      scale *= 128;
    }
    throw new RangeError("packed integers end inside a varint");
  };
  while (at < bytes.length) {
    const token = read();
    if (typeof token === "bigint") {
      const zigzag = token >> 1n;
      const delta = zigzag & 1n ? -(zigzag + 1n) / 2n : zigzag / 2n;
      const run = token & 1n ? Number(read()) : 1;
      for (let n = 0; n < run; n++) column.push((previous = Number(BigInt(previous) + delta)));
      continue;
    }
    const zigzag = Math.floor(token / 2);
    const delta = zigzag % 2 === 1 ? -(zigzag + 1) / 2 : zigzag / 2;
    const run = token % 2 === 1 ? Number(read()) : 1;
    for (let n = 0; n < run; n++) column.push((previous += delta));
  }
  return column;
}

export function packFloats(column: readonly number[]): string {
  const doubles = Float64Array.from(column);
  const bytes = new Uint8Array(doubles.buffer);
  if (!LITTLE_ENDIAN) for (let at = 0; at < bytes.length; at += 8) bytes.subarray(at, at + 8).reverse();
  return base64OfBytes(bytes);
}

export function unpackFloats(packed: string): number[] {
  const bytes = bytesOfBase64(packed);
  if (bytes.length % 8 !== 0) throw new RangeError(`packed floats are ${bytes.length} bytes, not a multiple of 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const column = new Array<number>(bytes.length / 8);
  for (let n = 0; n < column.length; n++) column[n] = view.getFloat64(n * 8, true);
  return column;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeBigVarint(bytes: number[], value: bigint): void {
  while (value >= 0x80n) {
    bytes.push(Number(value & 0x7fn) | 0x80);
    value >>= 7n;
  }
  bytes.push(Number(value));
}

/** `value` below PLAIN_LIMIT. */
function writeVarint(bytes: number[], value: number): void {
  while (value >= 0x80) {
    bytes.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
}

function bigVarint(bytes: Uint8Array, start: number): bigint {
  let value = 0n;
  let shift = 0n;
  for (let at = start; ; at++) {
    value |= BigInt(bytes[at]! & 0x7f) << shift;
    if (bytes[at]! < 0x80) return value;
    shift += 7n;
  }
}

/** Node's Buffer where there is one (faster for large arrays), the browser's btoa/atob otherwise. */
type NodeBuffer = { from(data: Uint8Array | string, encoding?: string): Uint8Array & { toString(encoding: string): string } };
const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;

function base64OfBytes(bytes: Uint8Array): string {
  if (nodeBuffer) return nodeBuffer.from(bytes).toString("base64");
  let binary = "";
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}

function bytesOfBase64(text: string): Uint8Array {
  if (nodeBuffer) return nodeBuffer.from(text, "base64");
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let at = 0; at < binary.length; at++) bytes[at] = binary.charCodeAt(at);
  return bytes;
}
