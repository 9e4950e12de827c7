/**
 * The server's artifact downloads and removals over the transport's artifact store, so a server
 * in the fleet serves the bytes workers wrote to the NATS object store (`nats-object://…`). The
 * bytes are verified against their sha256 on every read.
 */
import { Readable } from "node:stream";
import type { ArtifactRef } from "../../schema/fleet-messages.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import { ArtifactNotReadableError, type ArtifactContentStore, type ByteRange, type StoredBytes } from "../artifacts/artifact-content-store.js";

const PROBE_SHA256 = "0".repeat(64);

export class TransportArtifactContentStore implements ArtifactContentStore {
  /** Every location of this store is this prefix followed by the sha256. */
  private readonly prefix: string;

  constructor(private readonly store: ArtifactStore) {
    const probe = store.location({ sha256: PROBE_SHA256, size: 0 });
    this.prefix = probe.slice(0, probe.length - PROBE_SHA256.length);
  }

  handles(location: string): boolean {
    return location.startsWith(this.prefix) && /^[0-9a-f]{64}$/.test(location.slice(this.prefix.length));
  }

  async read(location: string, range?: ByteRange): Promise<Readable> {
    const ref = await this.refOf(location);
    let bytes: Uint8Array;
    try {
      bytes = await this.store.get(ref);
    } catch (error) {
      throw new ArtifactNotReadableError(`artifact bytes at ${location} cannot be read: ${(error as Error).message}`);
    }
    const part = range ? bytes.subarray(range.start, range.end + 1) : bytes;
    return Readable.from([Buffer.from(part.buffer, part.byteOffset, part.byteLength)]);
  }

  async remove(location: string): Promise<void> {
    if (!this.handles(location)) throw new ArtifactNotReadableError(`not a location of this store: ${location}`);
    await this.store.delete({ sha256: location.slice(this.prefix.length), size: 0 });
  }

  async write(bytes: Uint8Array): Promise<StoredBytes> {
    const ref = await this.store.put(bytes);
    return { location: this.store.location(ref), sha256: ref.sha256, sizeBytes: ref.size };
  }

  async find(sha256: string): Promise<StoredBytes | null> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return null;
    const size = await this.store.size({ sha256, size: 0 });
    return size === undefined ? null : { location: this.store.location({ sha256, size }), sha256, sizeBytes: size };
  }

  private async refOf(location: string): Promise<ArtifactRef> {
    if (!this.handles(location)) throw new ArtifactNotReadableError(`not a location of this store: ${location}`);
    const sha256 = location.slice(this.prefix.length);
    const size = await this.store.size({ sha256, size: 0 });
    if (size === undefined) throw new ArtifactNotReadableError(`artifact bytes are missing from the store (${location})`);
    return { sha256, size };
  }
}
