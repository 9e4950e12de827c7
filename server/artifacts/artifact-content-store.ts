import type { Readable } from "node:stream";

/** An inclusive byte range, as HTTP Range headers name them. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where artifact bytes live. The server only reads (for downloads) and removes (when an experiment
 * is deleted); writers are the workers. The filesystem store serves the embedded mode; the fleet
 * plugs in one over the NATS object store.
 */
export interface ArtifactContentStore {
  /** True when this store understands the location's scheme. */
  handles(location: string): boolean;
  /** The bytes of `range` (or all of them) of the artifact at `location`. */
  read(location: string, range?: ByteRange): Promise<Readable>;
  /** Removes the bytes; removing what is already gone is not an error. */
  remove(location: string): Promise<void>;
}

export class ArtifactNotReadableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactNotReadableError";
  }
}
