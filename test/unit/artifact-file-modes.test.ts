/** Artifact bytes on disk (the server's store and the embedded transport's) are for their owner alone. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FilesystemArtifacts } from "../../transport/embedded/filesystem-artifacts.js";
import { modesUnder, notPrivateUnder } from "../helpers/file-modes.js";
import { writeArtifact } from "../../transport/artifact-store.js";

const parent = mkdtempSync(join(tmpdir(), "swamp-artifact-modes-"));
after(() => rmSync(parent, { recursive: true, force: true }));

function assertPrivate(root: string): void {
  assert.ok(modesUnder(root).some((entry) => !entry.directory), "a file was written");
  assert.deepEqual(notPrivateUnder(root), []);
}

test("the server's artifact store creates its directories 700 and its files 600", async () => {
  const root = join(parent, "server", "artifacts");
  await writeArtifact(new FilesystemArtifacts(root), new Uint8Array([1, 2, 3]));
  assertPrivate(root);
});

test("the embedded transport's artifacts are created 700 and 600", async () => {
  const root = join(parent, "embedded", "artifacts");
  await new FilesystemArtifacts(root).put(new Uint8Array([4, 5, 6]));
  assertPrivate(root);
});
