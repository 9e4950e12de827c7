import type { Readable } from "node:stream";

/** An inclusive byte range, as HTTP Range headers name them. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Bytes as a content-addressed store holds them. */
export interface StoredBytes {
  location: string;
  sha256: string;
  sizeBytes: number;
}

/**
 * Where artifact bytes live. The server reads (for downloads), removes (when an experiment is
 * deleted) and writes only what `swamp import` uploads; the other writers are the workers. The
 * filesystem store serves the embedded mode; the fleet plugs in one over the NATS object store.
 */
export interface ArtifactContentStore {
  /** True when this store understands the location's scheme. */
  handles(location: string): boolean;
  /** The bytes of `range` (or all of them) of the artifact at `location`. */
  read(location: string, range?: ByteRange): Promise<Readable>;
  /** Removes the bytes; removing what is already gone is not an error. */
  remove(location: string): Promise<void>;
  /** Stores bytes under their sha256 (idempotent: equal bytes are stored once). */
  write(bytes: Uint8Array): Promise<StoredBytes>;
  /** The stored bytes with this sha256, or null when the store has none. */
  find(sha256: string): Promise<StoredBytes | null>;
}

export class ArtifactNotReadableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactNotReadableError";
  }
}
