/**
 * The server's artifact content stores write what `swamp import` uploads and find it by sha256:
 * the filesystem store of the embedded mode, and the fleet's store over the NATS object store.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { findArtifact, writeArtifact, type ArtifactStore } from "../../transport/artifact-store.js";
import { FilesystemArtifacts } from "../../transport/embedded/filesystem-artifacts.js";
import { implementations } from "../transport/support/implementations.js";

async function checkWriteAndFind(store: ArtifactStore): Promise<void> {
  const bytes = Buffer.from("the bytes swamp import uploads");
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  assert.equal(await findArtifact(store, sha256), null);
  const stored = await writeArtifact(store, bytes);
  assert.deepEqual({ sha256: stored.sha256, sizeBytes: stored.sizeBytes }, { sha256, sizeBytes: bytes.length });
  assert.deepEqual(await writeArtifact(store, bytes), stored, "writing equal bytes again stores them once, at the same location");
  assert.deepEqual(await findArtifact(store, sha256), stored);
  assert.deepEqual(Buffer.concat((await (await store.read(stored.location)).toArray()) as Buffer[]), bytes);
  assert.equal(await findArtifact(store, "not a sha256"), null);
  await store.remove(stored.location);
  assert.equal(await findArtifact(store, sha256), null);
}

describe("artifact content stores: write and find", () => {
  test("the filesystem store", async () => {
    const root = mkdtempSync(join(tmpdir(), "swamp-content-store-"));
    try {
      await checkWriteAndFind(new FilesystemArtifacts(root));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  // The fleet server reads the transport's own store; over NATS that is the object store.
  for (const implementation of implementations.filter((i) => i.name === "nats")) {
    test(`the transport's store (${implementation.name})`, async () => {
      const deployment = await implementation.deploy();
      try {
        const { artifacts } = await deployment.connect();
        await checkWriteAndFind(artifacts);
      } finally {
        await deployment.dispose();
      }
    });
  }
});
