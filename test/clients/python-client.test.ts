/**
 * The Python client (clients/python) against a live `swamp up` with workers: its unittest suite
 * runs twice, with pandas and with SWAMP_CLIENT_NO_PANDAS=1 (tables as lists of dicts), on
 * Debian's python3 with numpy, pandas and websockets. Also here, on the same live fleet: each
 * cycle's TF.js model (model.json + weights.bin), made on request from the stored weights.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { tempDir } from "../helpers/cli.js";
import { PYTHON } from "../helpers/python.js";
import { decodeStoredWeights, storedWeightsMask } from "../../schema/weights-file.js";
import { waitFor } from "../transport/support/waiting.js";
import { TEST_ADMIN_DATABASE_URL } from "../server/support/test-server.js";
import { startUp, type Up } from "../fleet/support/up-process.js";

const CLIENT_DIR = resolve(__dirname, "../../../clients/python");
const cleanups: Array<() => Promise<void> | void> = [];
let up: Up;

before(async () => {
  const home = tempDir("py-client");
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "py_client");
  cleanups.push(() => database.drop());
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  up = await startUp(["--workers", "2", "--no-defaults"], { SWAMP_HOME: home, DATABASE_URL: database.url }, cleanups);
});
after(async () => {
  if (up) await up.interrupt();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function runPython(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    execFile(PYTHON, args, { cwd: CLIENT_DIR, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolveRun({ code, output: `${stdout}${stderr}` });
    });
  });
}

for (const pass of [{ name: "with pandas", env: {} }, { name: "without pandas (lists of dicts)", env: { SWAMP_CLIENT_NO_PANDAS: "1" } }]) {
  test(`the Python client's unittest suite passes against swamp up, ${pass.name}`, async () => {
    const result = await runPython(["-m", "unittest", "discover", "-v", "-s", "tests", "-t", "."], { SWAMP_URL: up.url, SWAMP_TOKEN: up.token, ...pass.env });
    console.log(result.output);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /^Ran \d+ tests/m);
  });
}

test("each cycle's TF.js model is made on request from the fleet's stored weights, bit for bit", async () => {
  const config = {
    name: "py-client-tfjs",
    data: { name: "synthetic", trainSubset: 256, testSubset: 128 },
    model: { name: "lenet-300-100" },
    method: { name: "imp" },
    pruning: { rate: 0.5, cycles: 1 },
    training: { epochs: 1, rewindEpochs: 0, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 128 },
  };
  const created = await up.gql<{ createExperiment: { id: string } }>(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, { config });
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const id = created.data!.createExperiment.id;
  type Artifact = { kind: string; format: string; cycleIndex: number | null; downloadUrl: string };
  type View = { experiment: { status: string; cycles: Array<{ index: number; weightsArtifact: Artifact }>; artifacts: Artifact[] } };
  let view: View | undefined;
  await waitFor("the experiment to finish", async () => {
    view = (await up.gql<View>(`query($id: ID!) { experiment(id: $id) { status cycles { index weightsArtifact { kind format cycleIndex downloadUrl } } artifacts { kind format cycleIndex downloadUrl } } }`, { id })).data;
    return view !== undefined && ["COMPLETED", "FAILED"].includes(view.experiment.status);
  }, 120_000);
  assert.equal(view!.experiment.status, "COMPLETED");
  const download = async (url: string) => Buffer.from(await (await fetch(url, { headers: { authorization: `Bearer ${up.token}` } })).arrayBuffer());
  for (const cycle of view!.experiment.cycles) {
    const modelUrl = `${new URL(up.url).origin}/export/tfjs/${id}/${cycle.index}/model.json`;
    const manifest = JSON.parse((await download(modelUrl)).toString("utf8")) as {
      format: string;
      modelTopology: unknown;
      weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string }> }>;
    };
    assert.equal(manifest.format, "layers-model");
    assert.ok(manifest.modelTopology);
    assert.deepEqual(manifest.weightsManifest[0]!.paths, ["weights.bin"]);
    // The stored averaged weights: masked from cycle 1 on, read with the cycle's mask artifact.
    const file = await download(cycle.weightsArtifact.downloadUrl);
    const needs = storedWeightsMask(file);
    const maskArtifact = view!.experiment.artifacts.find((a) => a.kind === "MASK" && a.cycleIndex === cycle.index);
    assert.equal(needs !== null, cycle.index > 0, `cycle ${cycle.index}: stored masked exactly when pruned`);
    const averaged = decodeStoredWeights(file, `cycle ${cycle.index}`, needs && maskArtifact ? await download(maskArtifact.downloadUrl) : null);
    assert.deepEqual(manifest.weightsManifest[0]!.weights.map((w) => w.shape), averaged.entries.map((e) => e.shape));
    const expected = Buffer.concat(averaged.values.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));
    assert.ok((await download(modelUrl.replace(/model\.json$/, "weights.bin"))).equals(expected), `cycle ${cycle.index}: weights.bin holds the averaged weights`);
    assert.ok(!view!.experiment.artifacts.some((a) => a.format.startsWith("tfjs-")), "no TF.js copy is stored");
  }
});
