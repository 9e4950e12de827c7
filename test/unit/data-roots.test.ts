import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { dataDirProblem, dataRootsFromEnv, DEFAULT_DATA_ROOTS } from "../../server/services/data-roots.js";
import { FASHION_MNIST_DEFAULT_DIR } from "../../worker/data/fashion-mnist.js";
import { MNIST_DEFAULT_DIR } from "../../worker/data/mnist.js";
import { tempDir } from "../helpers/cli.js";

test("SWAMP_DATA_ROOTS is a list of absolute directories; unset or empty means the defaults", () => {
  assert.deepEqual(dataRootsFromEnv(undefined), [...DEFAULT_DATA_ROOTS]);
  assert.deepEqual(dataRootsFromEnv(" "), [...DEFAULT_DATA_ROOTS]);
  assert.deepEqual(dataRootsFromEnv("/srv/data:/mnt/sets"), ["/srv/data", "/mnt/sets"]);
  assert.throws(() => dataRootsFromEnv("/srv/data:relative/dir"), /SWAMP_DATA_ROOTS must list absolute directories, got "relative\/dir"/);
});

test("the data sets' default directories lie inside the default roots", async () => {
  for (const dir of [FASHION_MNIST_DEFAULT_DIR, MNIST_DEFAULT_DIR]) assert.equal(await dataDirProblem(dir, DEFAULT_DATA_ROOTS), null, dir);
});

test("data.dir must resolve inside a root: '..' and symlinks are followed first, and the answer says nothing of what exists", async () => {
  const root = tempDir("root");
  mkdirSync(join(root, "fashion-mnist"));
  symlinkSync("/etc", join(root, "escape"));
  const elsewhere = tempDir("elsewhere");
  symlinkSync(join(root, "fashion-mnist"), join(elsewhere, "link"));
  const roots = [root];
  const outside = `is outside the allowed data roots (${root})`;
  assert.equal(await dataDirProblem(join(root, "fashion-mnist"), roots), null);
  assert.equal(await dataDirProblem(root, roots), null);
  assert.equal(await dataDirProblem(join(root, "not-yet-there", "deeper"), roots), null);
  assert.equal(await dataDirProblem(join(root, "fashion-mnist", "..", "fashion-mnist"), roots), null);
  assert.equal(await dataDirProblem(join(elsewhere, "link"), roots), null, "a link into a root is judged by its target");
  assert.equal(await dataDirProblem("/etc", roots), outside);
  assert.equal(await dataDirProblem("/no/such/dir", roots), outside);
  assert.equal(await dataDirProblem(join(root, "..", "..", "etc"), roots), outside);
  assert.equal(await dataDirProblem(join(root, "escape"), roots), outside);
  assert.equal(await dataDirProblem(join(root, "escape", "no-such-file"), roots), outside);
  assert.equal(await dataDirProblem(`${root}-sibling`, roots), outside, "a prefix of the name is not inside");
  assert.match((await dataDirProblem("../../etc", roots))!, /^must be an absolute path inside the allowed data roots/);
});
