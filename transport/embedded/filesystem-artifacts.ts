/**
 * Artifacts as files `<root>/<sha256[0..2]>/<sha256>` (the layout the server's download route
 * reads), written atomically (temporary file, then rename) and verified on every read.
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ArtifactRef } from "../../schema/fleet-messages.js";
import {
  ArtifactNotFoundError,
  ArtifactNotReadableError,
  sha256Hex,
  verifyArtifactBytes,
  type ArtifactStore,
  type ByteRange,
  type PutArtifactOptions,
  type StoredObject,
} from "../artifact-store.js";
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from "../../schema/file-modes.js";

/**
 * Locations are `file://` URLs; one outside the root is refused, so a stored location can never
 * make the server read an arbitrary file.
 */
export class FilesystemArtifacts implements ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Where an artifact's bytes are (or would be) stored. */
  pathOf(ref: Pick<ArtifactRef, "sha256">): string {
    if (!/^[0-9a-f]{64}$/.test(ref.sha256)) throw new Error(`not a sha256: ${JSON.stringify(ref.sha256)}`);
    return join(this.root, ref.sha256.slice(0, 2), ref.sha256);
  }

  async put(bytes: Uint8Array, options: PutArtifactOptions = {}): Promise<ArtifactRef> {
    const ref: ArtifactRef = { sha256: sha256Hex(bytes), size: bytes.byteLength, ...(options.format ? { format: options.format } : {}) };
    const path = this.pathOf(ref);
    // Equal bytes are already there, unless what is there is damaged: then it is replaced.
    if ((await this.size(ref)) === ref.size && (await this.get(ref).then(() => true, () => false))) return ref;
    await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
    // Unique per writer (worker threads share a pid): concurrent puts of equal bytes never collide.
    const temporary = `${path}.${randomUUID()}.tmp`;
    try {
      await writeFile(temporary, bytes, { mode: PRIVATE_FILE_MODE });
      await rename(temporary, path);
    } finally {
      await rm(temporary, { force: true });
    }
    return ref;
  }

  async get(ref: ArtifactRef): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(ref));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new ArtifactNotFoundError(ref, this.root);
      throw error;
    }
    return verifyArtifactBytes(ref, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  async has(ref: ArtifactRef): Promise<boolean> {
    return (await this.size(ref)) !== undefined;
  }

  async delete(ref: ArtifactRef): Promise<void> {
    await rm(this.pathOf(ref), { force: true });
  }

  async size(ref: Pick<ArtifactRef, "sha256">): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(ref))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  location(ref: Pick<ArtifactRef, "sha256">): string {
    return pathToFileURL(this.pathOf(ref)).toString();
  }

  handles(location: string): boolean {
    return location.startsWith("file://");
  }

  async read(location: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOfLocation(location);
    await stat(path).catch(() => {
      throw new ArtifactNotReadableError(`artifact bytes are missing from the store (${location})`);
    });
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async remove(location: string): Promise<void> {
    await rm(this.pathOfLocation(location), { force: true });
  }

  async list(): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    const prefixes = await readdir(this.root).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [] as string[];
      throw error;
    });
    for (const prefix of prefixes.filter((name) => /^[0-9a-f]{2}$/.test(name))) {
      for (const name of await readdir(join(this.root, prefix))) {
        // Temporary files of writes in progress are not objects yet.
        if (!/^[0-9a-f]{64}$/.test(name) || !name.startsWith(prefix)) continue;
        const info = await stat(join(this.root, prefix, name)).catch(() => undefined);
        if (info) objects.push({ sha256: name, size: info.size, modifiedAt: info.mtimeMs });
      }
    }
    return objects;
  }

  private pathOfLocation(location: string): string {
    if (!this.handles(location)) throw new ArtifactNotReadableError(`not a file:// location: ${location}`);
    const path = resolve(fileURLToPath(location));
    if (!path.startsWith(this.root + sep)) throw new ArtifactNotReadableError(`location is outside the artifact root: ${location}`);
    return path;
  }
}
