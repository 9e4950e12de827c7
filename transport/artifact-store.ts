/**
 * Content-addressed artifact bytes (weights, masks): stored under their sha256 and verified on every
 * read, so a corrupted or substituted artifact is never trained on.
 */
import { createHash } from "node:crypto";
import type { ArtifactRef } from "../schema/fleet-messages.js";

export interface PutArtifactOptions {
  /** Recorded in the returned reference, e.g. `swamp-weights`. */
  format?: string;
}

export interface ArtifactStore {
  /** Stores the bytes (idempotent: equal bytes are stored once) and returns their reference. */
  put(bytes: Uint8Array, options?: PutArtifactOptions): Promise<ArtifactRef>;
  /** The bytes; throws ArtifactNotFoundError or CorruptArtifactError (sha256 or size mismatch). */
  get(ref: ArtifactRef): Promise<Uint8Array>;
  has(ref: ArtifactRef): Promise<boolean>;
  /** Removing what is already gone is not an error. */
  delete(ref: ArtifactRef): Promise<void>;
  /** Stored byte length, or undefined when absent. */
  size(ref: ArtifactRef): Promise<number | undefined>;
  /** Where the bytes live, for the artifacts table: `file:///…` or `nats-object://<bucket>/<sha256>`. */
  location(ref: ArtifactRef): string;
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
