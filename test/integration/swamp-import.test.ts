/**
 * `swamp import`: a `swamp run` directory, finished or partial, becomes an experiment on a live
 * server whose cycles, particles, masks, metrics and weight exports are the run's files; importing
 * again is idempotent, and a partial run's experiment is completed by importing the finished run.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RunLayout } from "../../worker/run/run-layout.js";
import { readRunModel } from "../../worker/run/run-models.js";
import { jsonLines, runSwamp, tempDir, writeConfig } from "../helpers/cli.js";
import { readTensorsWithNumpy } from "../helpers/python.js";
import { startTestServer, type TestServer } from "../server/support/test-server.js";

const config = {
  name: "import-me",
  data: { name: "synthetic", trainSubset: 128, testSubset: 64 },
  model: { name: "lenet-300-100" },
  method: { name: "swamp", particles: 2 },
  pruning: { cycles: 2 },
  training: { epochs: 1, rewindEpochs: 1, batchSize: 64, bnRecalibrationExamples: 128 },
};
const CYCLES = 3;
const MAX_BLOB_BYTES = 2 * 1024 * 1024;

let t: TestServer;
let dir: string;
let runDir: string;
let partialDir: string;
let writeToken: string;

const EXPERIMENT = `query($id: ID!) { experiment(id: $id) {
  id status error cyclesCompleted imported
  cycles { index status sparsity accuracy loss aliveWeights totalWeights maskBase64 particles { index accuracy loss status } inference { parameters sparseBytes latencyMs { dense sparse } } }
} }`;

async function importDir(path: string, token: string | null = writeToken) {
  const env: NodeJS.ProcessEnv = { SWAMP_TOKEN: "" };
  const args = ["import", path, "--server", t.server.baseUrl];
  if (token !== null) args.push("--token", token);
  return runSwamp(args, env);
}

function importedId(stdout: string): string {
  const match = /experiment ([0-9a-f-]{36})/.exec(stdout);
  assert.ok(match, `no experiment id in: ${stdout}`);
  return match[1]!;
}

async function rowCounts(experimentId: string) {
  const [row] = await t.server.dataSource.query(
    `SELECT (SELECT count(*) FROM experiments WHERE import_key IS NOT NULL)::int AS experiments,
            (SELECT count(*) FROM cycles WHERE experiment_id = $1)::int AS cycles,
            (SELECT count(*) FROM particles WHERE experiment_id = $1)::int AS particles,
            (SELECT count(*) FROM artifacts WHERE experiment_id = $1)::int AS artifacts,
            (SELECT count(*) FROM metric_points p JOIN metric_series s ON s.id = p.series_id WHERE s.experiment_id = $1)::int AS points`,
    [experimentId],
  );
  return row as Record<string, number>;
}

async function download(path: string, file: string): Promise<string> {
  const response = await fetch(`${t.server.baseUrl}${path}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.equal(response.status, 200, await response.clone().text());
  const target = join(dir, file);
  writeFileSync(target, Buffer.from(await response.arrayBuffer()));
  return target;
}

before(async () => {
  dir = tempDir("import");
  runDir = join(dir, "run");
  const ran = await runSwamp(["run", "--config", writeConfig(config, dir), "--out", runDir, "--workers", "1", "--json"]);
  assert.equal(ran.code, 0, ran.stderr);
  // The run as it stood after cycle 1: cycle 2's directory (its mask, particles, summary) not yet written.
  partialDir = join(dir, "partial");
  cpSync(runDir, partialDir, { recursive: true });
  const partial = new RunLayout(partialDir);
  rmSync(partial.cycleDir(2), { recursive: true });
  const metricsSoFar = jsonLines(readFileSync(partial.metrics, "utf8")).filter((point) => (point.cycle as number) < 2);
  writeFileSync(partial.metrics, metricsSoFar.map((point) => `${JSON.stringify(point)}\n`).join(""));
  // Small enough to test the limit, large enough for the run's files (LeNet-300-100 weights: about 1 MiB).
  t = await startTestServer({ maxImportBlobBytes: MAX_BLOB_BYTES }, "cli-import");
  writeToken = await t.token(["read", "write"], "importer");
});
after(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("swamp import", () => {
  let experimentId: string;

  it("imports a partial run as a failed experiment with its finished cycles, and again changes nothing", async () => {
    const first = await importDir(partialDir);
    assert.equal(first.code, 0, first.stderr);
    experimentId = importedId(first.stdout);
    assert.match(first.stdout, /imported as experiment .* \(2 cycle\(s\) added; 2 of 3 cycles, failed\)/);
    const { data } = await t.gql(EXPERIMENT, { id: experimentId });
    assert.equal(data!.experiment.status, "FAILED");
    assert.equal(data!.experiment.imported, true);
    assert.match(data!.experiment.error, /imported partial run: 2 of 3 cycles/);
    assert.deepEqual(data!.experiment.cycles.map((c: { index: number }) => c.index), [0, 1]);
    const counts = await rowCounts(experimentId);

    const again = await importDir(partialDir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(importedId(again.stdout), experimentId);
    assert.match(again.stdout, /already imported as .* \(0 cycle\(s\) added/);
    assert.deepEqual(await rowCounts(experimentId), counts);

    const retry = await t.gql(`mutation($id: ID!) { retryExperiment(id: $id) { status } }`, { id: experimentId });
    assert.match(retry.errors?.[0]?.message ?? "", /imported from a swamp run directory/);
  });

  it("completes the same experiment from the finished run, equal to the run's files, and a third import changes nothing", async () => {
    const result = await importDir(runDir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(importedId(result.stdout), experimentId);
    assert.match(result.stdout, /added to experiment .* \(1 cycle\(s\) added; 3 of 3 cycles, completed\)/);

    const layout = new RunLayout(runDir);
    const summaries = jsonLines(readFileSync(layout.cycles, "utf8"));
    const { data } = await t.gql(EXPERIMENT, { id: experimentId });
    const experiment = data!.experiment;
    assert.equal(experiment.status, "COMPLETED");
    assert.equal(experiment.error, null);
    assert.equal(experiment.cyclesCompleted, CYCLES);
    assert.equal(experiment.cycles.length, CYCLES);
    for (const [i, cycle] of experiment.cycles.entries()) {
      const summary = summaries[i]!;
      assert.equal(cycle.status, "COMPLETED");
      assert.equal(cycle.accuracy, summary.accuracy);
      assert.equal(cycle.loss, summary.loss);
      assert.equal(cycle.sparsity, summary.sparsity);
      assert.equal(cycle.aliveWeights, summary.alive);
      assert.deepEqual(cycle.particles.map((p: { accuracy: number }) => p.accuracy), summary.particleAccuracies);
      assert.equal(cycle.maskBase64, readFileSync(layout.mask(i)).toString("base64"), `mask of cycle ${i}`);
      const profile = summary.inference as { parameters: number; sparseBytes: number; latencyMs: { dense: number; sparse: number } };
      assert.deepEqual(cycle.inference, { parameters: profile.parameters, sparseBytes: profile.sparseBytes, latencyMs: profile.latencyMs }, `the run's profile of cycle ${i}`);
    }

    // Every metric point of the run, on the server's export.
    const metricsResponse = await fetch(`${t.server.baseUrl}/export/metrics.json?experiment=${experimentId}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    const exported = (await metricsResponse.json()) as Array<{ key: string; cycle: number; particle: number | null; task_step: number; value: number }>;
    const lines = jsonLines(readFileSync(layout.metrics, "utf8"));
    assert.equal(exported.length, lines.length);
    const asKey = (p: { key: unknown; cycle: unknown; particle?: unknown; step: unknown; value: unknown }) => JSON.stringify([p.key, p.cycle, p.particle ?? null, p.step, p.value]);
    assert.deepEqual(
      exported.map((p) => asKey({ ...p, step: p.task_step })).sort(),
      lines.map((p) => asKey(p as never)).sort(),
    );

    // The frontier and the weight export read the imported rows as they read a fleet run's.
    const frontier = await t.gql(`query($id: ID!) { frontier(experimentIds: [$id]) { plot } }`, { id: experimentId });
    assert.deepEqual(frontier.data!.frontier[0].plot.accuracy, summaries.map((s) => s.accuracy));
    const grouped = await t.gql(`query { groupedFrontier { experimentIds points { cycle n accuracyMean } } }`);
    assert.deepEqual(grouped.data!.groupedFrontier[0].experimentIds, [experimentId]);
    assert.deepEqual(grouped.data!.groupedFrontier[0].points.map((p: { accuracyMean: number }) => p.accuracyMean), summaries.map((s) => s.accuracy));
    const npz = await readTensorsWithNumpy(await download(`/export/weights.npz?experiment=${experimentId}&cycle=2&dense=1`, "weights.npz"), "npz");
    const stored = await readRunModel(layout, 2, "average");
    assert.deepEqual(Object.keys(npz).sort(), stored.entries.map((e) => e.name).sort());
    for (const [i, entry] of stored.entries.entries()) {
      assert.deepEqual(npz[entry.name]!.shape, entry.shape, entry.name);
      assert.deepEqual(npz[entry.name]!.values, Array.from(stored.values[i]!), entry.name);
    }

    const counts = await rowCounts(experimentId);
    assert.equal(counts.experiments, 1);
    assert.equal(counts.cycles, CYCLES);
    assert.equal(counts.particles, CYCLES * 2);
    assert.equal(counts.points, lines.length);
    const third = await importDir(runDir);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(importedId(third.stdout), experimentId);
    assert.deepEqual(await rowCounts(experimentId), counts);
    // Each metrics.jsonl read (the partial run's, then the finished run's) is kept as an artifact of the experiment.
    const metricsFiles: Array<{ sha256: string }> = await t.server.dataSource.query(`SELECT sha256 FROM artifacts WHERE experiment_id = $1 AND format = 'swamp-run-metrics-jsonl'`, [experimentId]);
    assert.deepEqual(
      metricsFiles.map((row) => row.sha256).sort(),
      [layout.metrics, new RunLayout(partialDir).metrics].map((path) => createHash("sha256").update(readFileSync(path)).digest("hex")).sort(),
    );
  });
});

describe("swamp import of runs that kept less (storage.keep)", () => {
  it("imports an averages-only run without particle models, and refuses a final-only one, naming the missing file", async () => {
    const averagesDir = join(dir, "run-averages");
    const ran = await runSwamp(["run", "--config", writeConfig({ ...config, name: "import-averages", storage: { keep: "averages" } }, dir), "--out", averagesDir, "--workers", "1"]);
    assert.equal(ran.code, 0, ran.stderr);
    const imported = await importDir(averagesDir);
    assert.equal(imported.code, 0, imported.stderr);
    const id = importedId(imported.stdout);
    const counts = await rowCounts(id);
    assert.equal(counts.cycles, CYCLES);
    assert.equal(counts.particles, CYCLES * 2, "the particles and their numbers are recorded without their models");
    const particleModels: Array<{ n: number }> = await t.server.dataSource.query(`SELECT count(*)::int AS n FROM artifacts WHERE experiment_id = $1 AND particle_index IS NOT NULL`, [id]);
    assert.equal(particleModels[0]!.n, 0);
    const npz = await readTensorsWithNumpy(await download(`/export/weights.npz?experiment=${id}&cycle=2&dense=1`, "averages.npz"), "npz");
    const stored = await readRunModel(new RunLayout(averagesDir), 2, "average");
    for (const [i, entry] of stored.entries.entries()) assert.deepEqual(npz[entry.name]!.values, Array.from(stored.values[i]!), entry.name);

    const finalDir = join(dir, "run-final");
    cpSync(averagesDir, finalDir, { recursive: true });
    rmSync(new RunLayout(finalDir).averageWeights(0));
    const refused = await importDir(finalDir);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /cycle-000\/average\.swt is missing: a run with storage\.keep "final"/);
  });
});

describe("swamp import, twice at once", () => {
  it("imports one experiment: the second import waits for the first and finds it", async () => {
    const copy = join(dir, "concurrent");
    cpSync(runDir, copy, { recursive: true });
    const layout = new RunLayout(copy);
    writeFileSync(layout.config, JSON.stringify({ ...JSON.parse(readFileSync(layout.config, "utf8")), name: "concurrent" }));
    const results = await Promise.all([importDir(copy), importDir(copy)]);
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    assert.equal(importedId(results[0]!.stdout), importedId(results[1]!.stdout));
    const [row] = await t.server.dataSource.query(`SELECT count(*)::int AS n FROM experiments WHERE name = 'concurrent'`);
    assert.equal(row.n, 1);
  });
});

describe("swamp import refuses bad input, storing nothing", () => {
  async function importedExperiments(): Promise<number> {
    const [row] = await t.server.dataSource.query(`SELECT count(*)::int AS n FROM experiments`);
    return row.n;
  }

  it("a directory without config.json", async () => {
    const before = await importedExperiments();
    const result = await importDir(tempDir("empty-run"));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /holds no swamp run \(no config\.json\)/);
    assert.equal(await importedExperiments(), before);
  });

  it("no token", async () => {
    const result = await importDir(runDir, null);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /a token with write scope is needed/);
  });

  it("a read-only token", async () => {
    const result = await importDir(runDir, await t.token(["read"], "reader"));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\(403\): the token lacks write scope/);
  });

  it("a tampered mask: the cycle's mask no longer matches its summary and weights", async () => {
    const tampered = join(dir, "tampered");
    cpSync(runDir, tampered, { recursive: true });
    // A different run identity (name), so the import cannot find the one above.
    const layout = new RunLayout(tampered);
    writeFileSync(layout.config, JSON.stringify({ ...JSON.parse(readFileSync(layout.config, "utf8")), name: "tampered" }));
    const mask = readFileSync(layout.mask(1));
    mask[0] = mask[0]! ^ 0xff;
    writeFileSync(layout.mask(1), mask);
    const before = await importedExperiments();
    const result = await importDir(tampered);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /\(field cycles\.1\.mask\)/);
    assert.equal(await importedExperiments(), before);
  });

  it("bytes that do not hash to the sha256 they are uploaded as", async () => {
    const response = await fetch(`${t.server.baseUrl}/import/blobs/${"ab".repeat(32)}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${writeToken}`, "content-type": "application/octet-stream" },
      body: Buffer.from("not those bytes"),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { message: string; field: string } };
    assert.equal(body.error.field, "sha256");
    assert.match(body.error.message, /hash to [0-9a-f]{64}, not abab/);
    assert.equal((await fetch(`${t.server.baseUrl}/import/blobs/${"ab".repeat(32)}`, { method: "HEAD", headers: { authorization: `Bearer ${writeToken}` } })).status, 404);
  });

  it("a blob over the server's size limit", async () => {
    const response = await fetch(`${t.server.baseUrl}/import/blobs/${"ef".repeat(32)}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${writeToken}`, "content-type": "application/octet-stream" },
      body: Buffer.alloc(MAX_BLOB_BYTES + 1),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { message: string; field: string } };
    assert.equal(body.error.field, "body");
    assert.match(body.error.message, new RegExp(`at most ${MAX_BLOB_BYTES}`));
  });

  it("a manifest naming blobs never uploaded, or an invalid config, with field paths", async () => {
    const post = (manifest: unknown) =>
      fetch(`${t.server.baseUrl}/import/runs`, { method: "POST", headers: { authorization: `Bearer ${writeToken}`, "content-type": "application/json" }, body: JSON.stringify(manifest) });
    const missing = await post({ config, rewind: { sha256: "cd".repeat(32), size: 3 }, metrics: null, cycles: [] });
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { error: { field: string } }).error.field, "rewind");
    const invalid = await post({ config: { ...config, training: { ...config.training, lr: -1 } }, rewind: { sha256: "cd".repeat(32), size: 3 }, metrics: null, cycles: [] });
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as { error: { field: string } }).error.field, "config.training.lr");
  });
});
