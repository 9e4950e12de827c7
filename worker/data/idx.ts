/**
 * The IDX format of MNIST-style data sets (http://yann.lecun.com/exdb/mnist/): a magic number
 * 0x0000TTRR (TT = element type, RR = rank), RR big-endian uint32 dimensions, then the values.
 * Only unsigned bytes (type 0x08) occur in image data sets and only they are accepted.
 */
import { DatasetFileError } from "./dataset.js";
import { readMaybeGzipped } from "./data-files.js";

const UNSIGNED_BYTE = 0x08;

export interface IdxArray {
  /** The file it came from, for error messages further on. */
  file: string;
  dims: number[];
  /** The values, row-major, without the header. */
  data: Uint8Array;
}

/** Parses IDX bytes of unsigned-byte type and the given rank; checks the header and exact size. */
export function parseIdx(bytes: Uint8Array, file: string, rank: number): IdxArray {
  const expectedMagic = (UNSIGNED_BYTE << 8) | rank;
  const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
  if (bytes.length < 4) {
    throw new DatasetFileError(file, `truncated: ${bytes.length} bytes, shorter than the 4-byte IDX magic number`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new DatasetFileError(file, `bad magic number ${hex(magic)} (expected ${hex(expectedMagic)}: unsigned-byte IDX of rank ${rank})`);
  }
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) {
    throw new DatasetFileError(file, `truncated: ${bytes.length} bytes, shorter than the ${headerSize}-byte IDX header`);
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const valueCount = dims.reduce((a, b) => a * b, 1);
  const expectedSize = headerSize + valueCount;
  const shape = dims.join("×");
  if (bytes.length < expectedSize) {
    throw new DatasetFileError(file, `truncated: ${bytes.length} bytes, expected ${expectedSize} for ${shape} values`);
  }
  if (bytes.length > expectedSize) {
    throw new DatasetFileError(file, `${bytes.length - expectedSize} unexpected bytes after the ${shape} values`);
  }
  return { file, dims, data: bytes.subarray(headerSize) };
}

/** Reads (un-gzipping if needed) and parses an IDX file. */
export async function readIdxFile(path: string, rank: number): Promise<IdxArray> {
  return parseIdx(await readMaybeGzipped(path), path, rank);
}

/** Writes unsigned-byte IDX bytes; used to generate test fixtures and small custom data sets. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const headerSize = 4 + 4 * dims.length;
  const out = new Uint8Array(headerSize + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, (UNSIGNED_BYTE << 8) | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerSize);
  return out;
}
