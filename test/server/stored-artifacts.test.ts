/**
 * Stored bytes per experiment and in total, deletion that frees an experiment's objects but never
 * another's (objects are shared by content hash), and the collection of objects no row names.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { registerArtifact } from "../../server/services/artifacts.js";
import { createExperiment } from "../../server/services/experiments.js";
import { inTransaction } from "../../server/services/transaction.js";
import { writeArtifact, type StoredBytes } from "../../transport/artifact-store.js";
import { runSwamp } from "../helpers/cli.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
let a: string;
let b: string;
let shared: StoredBytes;
let onlyA: StoredBytes;
let onlyB: StoredBytes;
let orphan: StoredBytes;

const bytesOf = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * seed + 11) % 251));

before(async () => {
  t = await startTestServer({}, "stored_artifacts");
  const store = t.server.artifactStore;
  [shared, onlyA, onlyB, orphan] = await Promise.all([writeArtifact(store, bytesOf(3000, 3)), writeArtifact(store, bytesOf(1000, 5)), writeArtifact(store, bytesOf(500, 7)), writeArtifact(store, bytesOf(200, 13))]);
  for (const [name, objects] of [["a", [shared, onlyA]], ["b", [shared, onlyB]]] as const) {
    const experiment = await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: { ...sampleConfig(), name: `storage-${name}` } }));
    if (name === "a") a = experiment.id;
    else b = experiment.id;
    for (const [i, object] of objects.entries()) {
      await inTransaction(t.server.services, (tx) =>
        registerArtifact(tx, { experimentId: experiment.id, cycleIndex: 0, particleIndex: i, kind: "weights", format: "swamp-weights", sizeBytes: object.sizeBytes, sha256: object.sha256, location: object.location }),
      );
    }
  }
  // The same object twice in one experiment counts once.
  await inTransaction(t.server.services, (tx) =>
    registerArtifact(tx, { experimentId: a, cycleIndex: 1, kind: "weights", format: "swamp-weights", sizeBytes: shared.sizeBytes, sha256: shared.sha256, location: shared.location }),
  );
});
after(async () => {
  await t.close();
});

const storedBytes = async () => {
  const response = await t.gql(`query($ids: [ID!]) { experiments(filter: { ids: $ids }) { nodes { id storedBytes } } storage { storedBytes objects } }`, { ids: [a, b] });
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  const data = response.data as { experiments: { nodes: Array<{ id: string; storedBytes: number }> }; storage: { storedBytes: number; objects: number } };
  return { perExperiment: new Map(data.experiments.nodes.map((n) => [n.id, n.storedBytes])), storage: data.storage };
};

describe("stored artifacts", () => {
  it("report bytes per experiment (shared objects in each) and in total (each object once)", async () => {
    const { perExperiment, storage } = await storedBytes();
    assert.equal(perExperiment.get(a), 3000 + 1000);
    assert.equal(perExperiment.get(b), 3000 + 500);
    assert.deepEqual(storage, { storedBytes: 4500, objects: 3 });
  });

  it("collect only objects no row names, sparing young ones, and only with the admin scope", async () => {
    const gc = `mutation($minAgeSeconds: Int!, $dryRun: Boolean!) { collectGarbage(minAgeSeconds: $minAgeSeconds, dryRun: $dryRun) { unreferencedObjects unreferencedBytes removed storage { objects } } }`;
    const young = await t.gql(gc, { minAgeSeconds: 3600, dryRun: false });
    assert.deepEqual(young.data!.collectGarbage, { unreferencedObjects: 0, unreferencedBytes: 0, removed: true, storage: { objects: 3 } });
    const dry = await t.gql(gc, { minAgeSeconds: 0, dryRun: true });
    assert.deepEqual(dry.data!.collectGarbage, { unreferencedObjects: 1, unreferencedBytes: 200, removed: false, storage: { objects: 3 } });
    assert.equal(await t.server.artifactStore.size(orphan), 200, "a dry run removes nothing");
    const bad = await t.gql(gc, { minAgeSeconds: -1, dryRun: true });
    assert.match(bad.errors?.[0]?.message ?? "", /minAgeSeconds/);
    await t.gql(gc, { minAgeSeconds: 0, dryRun: false });
    assert.equal(await t.server.artifactStore.size(orphan), undefined, "the orphan is removed");
    for (const kept of [shared, onlyA, onlyB]) assert.equal(await t.server.artifactStore.size(kept), kept.sizeBytes, "referenced objects stay");
  });

  it("free a deleted experiment's own objects and keep those another experiment shares", async () => {
    const deleted = await t.gql(`mutation($id: ID!) { deleteExperiment(id: $id) }`, { id: a });
    assert.equal(deleted.errors, undefined, JSON.stringify(deleted.errors));
    assert.equal(await t.server.artifactStore.size(onlyA), undefined, "A's own object is removed");
    assert.equal(await t.server.artifactStore.size(shared), shared.sizeBytes, "the object B shares stays");
    assert.equal(await t.server.artifactStore.size(onlyB), onlyB.sizeBytes);
    const { perExperiment, storage } = await storedBytes();
    assert.equal(perExperiment.get(b), 3500);
    assert.deepEqual(storage, { storedBytes: 3500, objects: 2 });
  });
});

describe("swamp gc", () => {
  it("prints the bytes per experiment and in total, and removes unreferenced objects (a dry run keeps them)", async () => {
    const stray = await writeArtifact(t.server.artifactStore, bytesOf(300, 17));
    const gc = (...flags: string[]) => runSwamp(["gc", "--server", t.server.baseUrl, "--token", t.adminToken, "--min-age", "0", ...flags], { SWAMP_TOKEN: "" });
    const dry = await gc("--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`0\\.00 MB  ${b}  storage-b`));
    assert.match(dry.stdout, /stored: 0\.00 MB in 2 object\(s\)/);
    assert.match(dry.stdout, /unreferenced: 1 object\(s\), 0\.00 MB \(dry run: kept\)/);
    assert.equal(await t.server.artifactStore.size(stray), 300);
    const real = await gc();
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /unreferenced: 1 object\(s\), 0\.00 MB removed/);
    assert.equal(await t.server.artifactStore.size(stray), undefined);
    const readOnly = await t.token(["read", "write"], "writer");
    const refused = await runSwamp(["gc", "--server", t.server.baseUrl, "--token", readOnly], { SWAMP_TOKEN: "" });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /admin/);
    const bad = await runSwamp(["gc", "--min-age", "soon"], { SWAMP_TOKEN: "x" });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--min-age must be a whole number of seconds/);
  });
});
