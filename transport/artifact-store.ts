/**
 * Content-addressed artifact bytes (weights, masks): stored under their sha256 and verified on every
 * read, so a corrupted or substituted artifact is never trained on.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { ArtifactRef } from "../schema/fleet-messages.js";

export interface PutArtifactOptions {
  /** Recorded in the returned reference, e.g. `swamp-weights`. */
  format?: string;
}

/** An inclusive byte range, as HTTP Range headers name them. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Bytes as the store holds them, named by where they are. */
export interface StoredBytes {
  location: string;
  sha256: string;
  sizeBytes: number;
}

/**
 * Workers put and get artifacts by reference; the server reads them by their recorded location
 * (downloads, exports), removes them (when an experiment is deleted) and writes what `swamp import`
 * uploads.
 */
export interface ArtifactStore {
  /** Stores the bytes (idempotent: equal bytes are stored once) and returns their reference. */
  put(bytes: Uint8Array, options?: PutArtifactOptions): Promise<ArtifactRef>;
  /** The bytes; throws ArtifactNotFoundError or CorruptArtifactError (sha256 or size mismatch). */
  get(ref: ArtifactRef): Promise<Uint8Array>;
  has(ref: ArtifactRef): Promise<boolean>;
  /** Removing what is already gone is not an error. */
  delete(ref: ArtifactRef): Promise<void>;
  /** Stored byte length, or undefined when absent. */
  size(ref: Pick<ArtifactRef, "sha256">): Promise<number | undefined>;
  /** Where the bytes live, for the artifacts table: `file:///…` or `nats-object://<bucket>/<sha256>`. */
  location(ref: Pick<ArtifactRef, "sha256">): string;
  /** True when the location names bytes of this store. */
  handles(location: string): boolean;
  /** The bytes of `range` (or all of them) at `location`; throws ArtifactNotReadableError. */
  read(location: string, range?: ByteRange): Promise<Readable>;
  /** Removes the bytes at `location`; removing what is already gone is not an error. */
  remove(location: string): Promise<void>;
  /** Every object the store holds (the garbage collector compares them with the artifacts table). */
  list(): Promise<StoredObject[]>;
}

export interface StoredObject {
  sha256: string;
  size: number;
  /** When it was last written, ms since the epoch. */
  modifiedAt: number;
}

/** Stores bytes under their sha256 (idempotent) and says where they are. */
export async function writeArtifact(store: ArtifactStore, bytes: Uint8Array): Promise<StoredBytes> {
  const ref = await store.put(bytes);
  return { location: store.location(ref), sha256: ref.sha256, sizeBytes: ref.size };
}

/** The stored bytes with this sha256, or null when the store has none. */
export async function findArtifact(store: ArtifactStore, sha256: string): Promise<StoredBytes | null> {
  if (!isSha256Hex(sha256)) return null;
  const size = await store.size({ sha256 });
  return size === undefined ? null : { location: store.location({ sha256 }), sha256, sizeBytes: size };
}

export class ArtifactNotReadableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactNotReadableError";
  }
}

/** True for a lowercase hex sha256. */
export function isSha256Hex(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function describeRef(ref: ArtifactRef): string {
  return `artifact sha256:${ref.sha256}${ref.format ? ` (${ref.format})` : ""}`;
}

export class CorruptArtifactError extends Error {
  constructor(
    readonly ref: ArtifactRef,
    readonly detail: string,
  ) {
    super(`corrupt ${describeRef(ref)}: ${detail}`);
    this.name = "CorruptArtifactError";
  }
}

export class ArtifactNotFoundError extends Error {
  constructor(
    readonly ref: ArtifactRef,
    where: string,
  ) {
    super(`${describeRef(ref)} is not in ${where}`);
    this.name = "ArtifactNotFoundError";
  }
}

/** The store refused a write because it holds as much as it may (its configured size limit). */
export class ArtifactStoreFullError extends Error {
  constructor(
    readonly ref: ArtifactRef,
    where: string,
    limit: string,
  ) {
    super(`${describeRef(ref)} was not stored: ${where} is full (${limit}); delete experiments whose artifacts are no longer needed, or raise the limit`);
    this.name = "ArtifactStoreFullError";
  }
}

/** Throws CorruptArtifactError unless the bytes are the ones the reference names. */
export function verifyArtifactBytes(ref: ArtifactRef, bytes: Uint8Array): Uint8Array {
  const actual = sha256Hex(bytes);
  if (actual !== ref.sha256) throw new CorruptArtifactError(ref, `stored bytes hash to sha256:${actual}`);
  if (bytes.byteLength !== ref.size) throw new CorruptArtifactError(ref, `stored bytes are ${bytes.byteLength} long, the reference says ${ref.size}`);
  return bytes;
}
