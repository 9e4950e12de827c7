/**
 * Artifacts in the JetStream Object Store, named by their sha256 so any worker on any machine can
 * fetch them; every read is hashed and compared with the name it was asked for.
 */
import { Readable } from "node:stream";
import type { ObjectStore } from "@nats-io/obj";
import type { ArtifactRef } from "../../schema/fleet-messages.js";
import {
  ArtifactNotFoundError,
  ArtifactNotReadableError,
  ArtifactStoreFullError,
  isSha256Hex,
  CorruptArtifactError,
  sha256Hex,
  verifyArtifactBytes,
  type ArtifactStore,
  type ByteRange,
  type PutArtifactOptions,
  type StoredObject,
} from "../artifact-store.js";

/** The object store's own digest notation for a sha256: `SHA-256=` and padded base64url. */
function objectStoreDigest(sha256: string): string {
  return `SHA-256=${Buffer.from(sha256, "hex").toString("base64").replace(/\+/g, "-").replace(/\//g, "_")}`;
}

export class ObjectStoreArtifacts implements ArtifactStore {
  constructor(
    private readonly bucket: ObjectStore,
    private readonly bucketName: string,
  ) {}

  /** Every location of this store is this prefix followed by the sha256. */
  private get locationPrefix(): string {
    return `nats-object://${this.bucketName}/`;
  }

  async put(bytes: Uint8Array, options: PutArtifactOptions = {}): Promise<ArtifactRef> {
    const ref: ArtifactRef = { sha256: sha256Hex(bytes), size: bytes.byteLength, ...(options.format ? { format: options.format } : {}) };
    const existing = await this.bucket.info(ref.sha256);
    // The store records the digest of what was written under the name: replace anything else.
    if (existing === null || existing.deleted || existing.size !== ref.size || existing.digest !== objectStoreDigest(ref.sha256)) {
      await this.bucket.putBlob({ name: ref.sha256 }, bytes).catch((error: unknown) => {
        // The bucket's stream refuses new data past its max_bytes (discard policy "new").
        if (/maximum bytes exceeded|insufficient resources/i.test((error as Error)?.message ?? "")) {
          throw new ArtifactStoreFullError(ref, `object store bucket ${this.bucketName}`, "its SWAMP_ARTIFACTS_MAX_BYTES limit");
        }
        throw error;
      });
    }
    return ref;
  }

  async get(ref: ArtifactRef): Promise<Uint8Array> {
    let bytes: Uint8Array | null;
    try {
      bytes = await this.bucket.getBlob(ref.sha256);
    } catch (error) {
      // The object store checks its own chunk digest; a mismatch there is corruption too.
      if (/digests do not match/.test((error as Error)?.message ?? "")) throw new CorruptArtifactError(ref, "the object store's chunk digest does not match");
      throw error;
    }
    if (bytes === null) throw new ArtifactNotFoundError(ref, `object store bucket ${this.bucketName}`);
    // Always a plain Uint8Array (the client returns a Buffer for single-chunk objects).
    return verifyArtifactBytes(ref, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  async has(ref: ArtifactRef): Promise<boolean> {
    return (await this.size(ref)) !== undefined;
  }

  async delete(ref: ArtifactRef): Promise<void> {
    if (await this.has(ref)) await this.bucket.delete(ref.sha256);
  }

  async size(ref: Pick<ArtifactRef, "sha256">): Promise<number | undefined> {
    const info = await this.bucket.info(ref.sha256);
    return info === null || info.deleted ? undefined : info.size;
  }

  location(ref: Pick<ArtifactRef, "sha256">): string {
    return `${this.locationPrefix}${ref.sha256}`;
  }

  handles(location: string): boolean {
    return location.startsWith(this.locationPrefix) && isSha256Hex(location.slice(this.locationPrefix.length));
  }

  async read(location: string, range?: ByteRange): Promise<Readable> {
    const sha256 = this.sha256Of(location);
    const size = await this.size({ sha256 });
    if (size === undefined) throw new ArtifactNotReadableError(`artifact bytes are missing from the store (${location})`);
    let bytes: Uint8Array;
    try {
      bytes = await this.get({ sha256, size });
    } catch (error) {
      throw new ArtifactNotReadableError(`artifact bytes at ${location} cannot be read: ${(error as Error).message}`);
    }
    const part = range ? bytes.subarray(range.start, range.end + 1) : bytes;
    return Readable.from([Buffer.from(part.buffer, part.byteOffset, part.byteLength)]);
  }

  async remove(location: string): Promise<void> {
    const sha256 = this.sha256Of(location);
    if ((await this.size({ sha256 })) !== undefined) await this.bucket.delete(sha256);
  }

  async list(): Promise<StoredObject[]> {
    const infos = await this.bucket.list();
    return infos.filter((info) => !info.deleted && isSha256Hex(info.name)).map((info) => ({ sha256: info.name, size: info.size, modifiedAt: Date.parse(info.mtime) }));
  }

  private sha256Of(location: string): string {
    if (!this.handles(location)) throw new ArtifactNotReadableError(`not a location of this store: ${location}`);
    return location.slice(this.locationPrefix.length);
  }
}
