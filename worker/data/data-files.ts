/**
 * Reading data files: finding one of several accepted spellings in a directory, and transparently
 * un-gzipping. Every failure is a DatasetFileError naming the file.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { DatasetFileError } from "./dataset.js";

const gunzipAsync = promisify(gunzip);

/** Refuses a directory that does not exist, naming the config field that chose it. */
export async function requireDirectory(dir: string, how: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) throw new DatasetFileError(dir, `directory does not exist (${how})`);
  if (!info.isDirectory()) throw new DatasetFileError(dir, `is not a directory (${how})`);
}

/** The first of `names` present in `dir` (as a file), or a DatasetFileError listing all of them. */
export async function findFile(dir: string, names: readonly string[]): Promise<string> {
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) return path;
  }
  const wanted = join(dir, names[0]!);
  throw new DatasetFileError(wanted, `missing (looked in ${dir} for ${names.join(", ")})`);
}

/**
 * The file's bytes, un-gzipped when they start with the gzip magic (1f 8b). A `.gz` name whose
 * content is not gzip is an error too: it usually means a truncated or mislabelled download.
 */
export async function readMaybeGzipped(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DatasetFileError(path, `cannot be read (${(error as Error).message})`);
  }
  const isGzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (!isGzip) {
    if (path.endsWith(".gz")) throw new DatasetFileError(path, "bad gzip: the file does not start with the gzip signature 1f 8b");
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  try {
    const inflated = await gunzipAsync(bytes);
    return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  } catch (error) {
    throw new DatasetFileError(path, `bad gzip: ${(error as Error).message}`);
  }
}

/**
 * Promise.all, except that when several fail the error reported is the first in the list's order,
 * not whichever failed first in time: a directory missing every file always names the same one.
 */
export async function allInOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
