import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ArtifactNotReadableError, type ArtifactContentStore, type ByteRange, type StoredBytes } from "./artifact-content-store.js";
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from "../../schema/file-modes.js";

export type { StoredBytes } from "./artifact-content-store.js";

/**
 * Content-addressed files under one root directory: `<root>/<sha[0..2]>/<sha>`, located by
 * `file://` URLs. Locations outside the root are refused, so a stored location can never make the
 * server read an arbitrary file.
 */
export class FilesystemArtifactStore implements ArtifactContentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  handles(location: string): boolean {
    return location.startsWith("file://");
  }

  /** Stores bytes by their sha256 (idempotent) and returns where they are. */
  async write(bytes: Uint8Array): Promise<StoredBytes> {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const path = this.pathOfSha256(sha256);
    await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
    const exists = await stat(path).then(() => true, () => false);
    if (!exists) {
      // Unique per call: two writes of the same bytes at once (imports) must not share a temporary file.
      const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
      await writeFile(temporary, bytes, { mode: PRIVATE_FILE_MODE });
      await rename(temporary, path);
    }
    return { location: pathToFileURL(path).toString(), sha256, sizeBytes: bytes.byteLength };
  }

  async find(sha256: string): Promise<StoredBytes | null> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return null;
    const path = this.pathOfSha256(sha256);
    const stats = await stat(path).catch(() => null);
    return stats ? { location: pathToFileURL(path).toString(), sha256, sizeBytes: stats.size } : null;
  }

  private pathOfSha256(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  async read(location: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(location);
    await stat(path).catch(() => {
      throw new ArtifactNotReadableError(`artifact bytes are missing from the store (${location})`);
    });
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async remove(location: string): Promise<void> {
    await rm(this.pathOf(location), { force: true });
  }

  private pathOf(location: string): string {
    if (!this.handles(location)) throw new ArtifactNotReadableError(`not a file:// location: ${location}`);
    const path = resolve(fileURLToPath(location));
    if (!path.startsWith(this.root + sep)) throw new ArtifactNotReadableError(`location is outside the artifact root: ${location}`);
    return path;
  }
}
