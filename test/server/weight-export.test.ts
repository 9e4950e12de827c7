/**
 * GET /export/{weights,masks}.{npz,safetensors}: a stored cycle's averaged model, as numpy reads
 * it, equals the stored weights artifact with the cycle's mask; errors are JSON naming the field.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { WEIGHTS_FORMAT } from "../../server/coordinator/record-result.js";
import { registerArtifact } from "../../server/services/artifacts.js";
import { recordCycle, startCycle } from "../../server/services/cycles.js";
import { createExperiment } from "../../server/services/experiments.js";
import { inTransaction } from "../../server/services/transaction.js";
import { packMask } from "../../schema/mask-bits.js";
import { encodeWeights } from "../../schema/weights-file.js";
import { tempDir } from "../helpers/cli.js";
import { readTensorsWithNumpy } from "../helpers/python.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";
import { writeArtifact } from "../../transport/artifact-store.js";

const entries = [
  { name: "fc1/kernel", shape: [4, 3] },
  { name: "fc1/bias", shape: [3] },
  { name: "fc2/kernel", shape: [3, 2] },
  { name: "fc2/bias", shape: [2] },
];
const keepFc1 = Uint8Array.of(1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1);
const keepFc2 = Uint8Array.of(0, 1, 1, 1, 0, 1);
// Pruned entries are 0 (the aggregate masks them); fc1's fourth weight survives with the value 0.
const stored = [
  Float32Array.from(keepFc1, (k, i) => (k ? (i === 3 ? 0 : (i + 1) / 10) : 0)),
  Float32Array.of(0.5, -0.25, 0.125),
  Float32Array.from(keepFc2, (k, i) => (k ? -(i + 1) / 3 : 0)),
  Float32Array.of(1e-3, -7),
];
const alive = [...keepFc1, ...keepFc2].filter((k) => k === 1).length;

let t: TestServer;
let experimentId: string;
let readOnly: string;

before(async () => {
  t = await startTestServer({}, "weight_export");
  const file = await writeArtifact(t.server.artifactStore, encodeWeights(stored, entries));
  const experiment = await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig() }));
  experimentId = experiment.id;
  const counts = { sparsity: 1 - alive / 18, aliveWeights: alive, totalWeights: 18, layers: [{ name: "fc1", alive: 8, total: 12 }, { name: "fc2", alive: 4, total: 6 }] };
  await inTransaction(t.server.services, async (tx) => {
    await startCycle(tx, { experimentId, cycleIndex: 1, mask: packMask([keepFc1, keepFc2]), particleSeeds: [], ...counts });
    await startCycle(tx, { experimentId, cycleIndex: 2, particleSeeds: [], ...counts });
    const artifact = await registerArtifact(tx, { experimentId, cycleIndex: 1, kind: "weights", format: WEIGHTS_FORMAT, sizeBytes: file.sizeBytes, sha256: file.sha256, location: file.location });
    await recordCycle(tx, { experimentId, cycleIndex: 1, accuracy: 0.5, loss: 1, weightsArtifactId: artifact.id, ...counts });
  });
  readOnly = await t.token(["read"]);
});
after(async () => {
  await t.close();
});

async function download(path: string, token: string | null = t.adminToken): Promise<Response> {
  return fetch(`${t.server.baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

async function numpyView(path: string, format: "npz" | "safetensors") {
  const response = await download(path, readOnly);
  assert.equal(response.status, 200, await response.clone().text());
  const file = join(tempDir("export"), `x.${format}`);
  writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  return readTensorsWithNumpy(file, format);
}

const asFloat32 = (i: number) => ({ dtype: "float32", shape: entries[i]!.shape, values: Array.from(stored[i]!) });
const asBool = (keep: Uint8Array, shape: number[]) => ({ dtype: "bool", shape, values: Array.from(keep, (k) => k === 1) });

describe("weight exports", () => {
  it("weights.npz: every stored tensor under its name, pruned entries 0, each kernel's mask beside it", async () => {
    const read = await numpyView(`/export/weights.npz?experiment=${experimentId}&cycle=1`, "npz");
    assert.deepEqual(read, {
      "fc1/kernel": asFloat32(0),
      "fc1/kernel.mask": asBool(keepFc1, [4, 3]),
      "fc1/bias": asFloat32(1),
      "fc2/kernel": asFloat32(2),
      "fc2/kernel.mask": asBool(keepFc2, [3, 2]),
      "fc2/bias": asFloat32(3),
    });
  });

  it("dense=1 gives the weights alone; masks.npz the masks alone", async () => {
    const dense = await numpyView(`/export/weights.npz?experiment=${experimentId}&cycle=1&dense=1`, "npz");
    assert.deepEqual(dense, { "fc1/kernel": asFloat32(0), "fc1/bias": asFloat32(1), "fc2/kernel": asFloat32(2), "fc2/bias": asFloat32(3) });
    const masks = await numpyView(`/export/masks.npz?experiment=${experimentId}&cycle=1`, "npz");
    assert.deepEqual(masks, { "fc1/kernel": asBool(keepFc1, [4, 3]), "fc2/kernel": asBool(keepFc2, [3, 2]) });
  });

  it("safetensors: the same tensors, with the experiment and cycle as metadata", async () => {
    const { __metadata__, ...weights } = await numpyView(`/export/weights.safetensors?experiment=${experimentId}&cycle=1&dense=1`, "safetensors");
    assert.deepEqual(weights, { "fc1/kernel": asFloat32(0), "fc1/bias": asFloat32(1), "fc2/kernel": asFloat32(2), "fc2/bias": asFloat32(3) });
    assert.equal(__metadata__?.experiment, experimentId);
    assert.equal(__metadata__?.cycle, "1");
    const { __metadata__: _, ...masks } = await numpyView(`/export/masks.safetensors?experiment=${experimentId}&cycle=1`, "safetensors");
    assert.deepEqual(masks, { "fc1/kernel": asBool(keepFc1, [4, 3]), "fc2/kernel": asBool(keepFc2, [3, 2]) });
  });

  it("answer bad input with 400 naming the field, what is missing with 404, and need a read token", async () => {
    const cases: Array<[string, number, RegExp, string | null]> = [
      [`/export/weights.npz?cycle=1`, 400, /experiment: is required/, "experiment"],
      [`/export/weights.npz?experiment=${experimentId}`, 400, /cycle: is required/, "cycle"],
      [`/export/weights.npz?experiment=${experimentId}&experiment=${experimentId}&cycle=1`, 400, /experiment: give it once/, "experiment"],
      [`/export/weights.npz?experiment=nope&cycle=1`, 400, /experiment: "nope" is not a valid id/, "experiment"],
      [`/export/weights.npz?experiment=${experimentId}&cycle=-1`, 400, /cycle: must be an integer from 0 to 10000, got -1/, "cycle"],
      [`/export/weights.npz?experiment=${experimentId}&cycle=1&dense=maybe`, 400, /dense: must be 1 or 0/, "dense"],
      [`/export/masks.npz?experiment=${experimentId}&cycle=1&dense=1`, 400, /dense: applies to weights only/, "dense"],
      [`/export/weights.npz?experiment=${experimentId}&cycle=7`, 404, /has no cycle 7/, null],
      [`/export/weights.npz?experiment=${experimentId}&cycle=2`, 404, /cycle 2 of experiment .* has no averaged weights yet/, null],
      [`/export/weights.npz?experiment=00000000-0000-4000-8000-000000000000&cycle=0`, 404, /no experiment with id/, null],
    ];
    for (const [path, status, message, field] of cases) {
      const response = await download(path);
      assert.equal(response.status, status, path);
      const body = (await response.json()) as { error: { message: string; field: string | null } };
      assert.match(body.error.message, message, path);
      assert.equal(body.error.field, field, path);
    }
    const anonymous = await download(`/export/weights.npz?experiment=${experimentId}&cycle=1`, null);
    assert.equal(anonymous.status, 401);
    assert.match(((await anonymous.json()) as { error: { message: string } }).error.message, /exporting weights needs a bearer token with read scope/);
  });
});
