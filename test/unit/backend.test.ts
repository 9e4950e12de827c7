/**
 * Backend selection, each case in a fresh Node process (the choice is made once per thread and
 * cannot be undone inside one): automatic choice here is wasm with the project kernels; cpu and
 * wasm can be forced by argument or SWAMP_BACKEND; the tfjs-node backends give a clear error where
 * those packages are not installed; unknown names and switching after the choice are refused.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const BACKEND_MODULE = join(__dirname, "..", "..", "worker", "engine", "backend.js");

interface Outcome {
  info?: { name: string; simd: boolean; threads: number; versions: Record<string, string>; kernels: string[] };
  again?: unknown;
  recorded?: unknown;
  active?: string;
  trainsConvolutions?: boolean;
  error?: string;
}

/** Runs `body` (an async function body with `backend` and `tf` in scope) in a fresh process. */
function inFreshProcess(body: string, env: Record<string, string | undefined> = {}): Outcome {
  const script = `
    const backend = require(${JSON.stringify(BACKEND_MODULE)});
    const tf = require("@tensorflow/tfjs-core");
    (async () => { ${body} })().then(
      (result) => process.stdout.write(JSON.stringify(result)),
      (error) => process.stdout.write(JSON.stringify({ error: error.message })),
    );`;
  const childEnv: Record<string, string | undefined> = { ...process.env, SWAMP_BACKEND: undefined, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  const result = spawnSync(process.execPath, ["-e", script], { env: childEnv as NodeJS.ProcessEnv, encoding: "utf8", cwd: join(__dirname, "..", "..", ".."), timeout: 60_000 });
  assert.equal(result.status, 0, `child failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Outcome;
}

function installed(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

test("automatic choice is wasm (SIMD, project kernels), recorded with versions, and repeated calls return the same", () => {
  // Where a tfjs-node package is installed the automatic choice is rightly another one.
  if (installed("@tensorflow/tfjs-node") || installed("@tensorflow/tfjs-node-gpu")) return;
  const outcome = inFreshProcess(`
    const info = await backend.initBackend();
    const again = await backend.initBackend();
    return { info, again, recorded: backend.backendInfo(), active: tf.getBackend(),
             trainsConvolutions: tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined };`);
  assert.equal(outcome.error, undefined);
  assert.equal(outcome.info!.name, "wasm");
  assert.equal(outcome.active, "wasm");
  assert.equal(outcome.info!.simd, true);
  assert.equal(outcome.trainsConvolutions, true);
  assert.ok(outcome.info!.threads >= 1);
  assert.ok(outcome.info!.kernels.includes("project-wasm"), `kernels: ${outcome.info!.kernels}`);
  assert.match(outcome.info!.versions["@tensorflow/tfjs-core"]!, /^\d+\.\d+\.\d+/);
  assert.equal(outcome.info!.versions["@tensorflow/tfjs-backend-wasm"], outcome.info!.versions["@tensorflow/tfjs-core"]);
  assert.deepEqual(outcome.again, outcome.info);
  assert.deepEqual(outcome.recorded, outcome.info);
});

test("backendInfo is undefined before initBackend", () => {
  const outcome = inFreshProcess(`return { recorded: backend.backendInfo() ?? null };`);
  assert.equal(outcome.recorded, null);
});

test("cpu can be forced by argument and by SWAMP_BACKEND", () => {
  const byArgument = inFreshProcess(`return { info: await backend.initBackend("cpu"), active: tf.getBackend() };`);
  assert.equal(byArgument.info!.name, "cpu");
  assert.equal(byArgument.active, "cpu");
  assert.deepEqual(byArgument.info!.kernels, []);
  const byEnv = inFreshProcess(`return { info: await backend.initBackend(), active: tf.getBackend() };`, { SWAMP_BACKEND: "cpu" });
  assert.equal(byEnv.info!.name, "cpu");
  assert.equal(byEnv.active, "cpu");
});

test("wasm can be forced, and the argument overrides SWAMP_BACKEND", () => {
  const outcome = inFreshProcess(`return { info: await backend.initBackend("wasm"), active: tf.getBackend() };`, { SWAMP_BACKEND: "cpu" });
  assert.equal(outcome.info!.name, "wasm");
  assert.equal(outcome.active, "wasm");
});

test("forcing a tfjs-node backend that is not installed is a clear error", () => {
  if (!installed("@tensorflow/tfjs-node") && !installed("@tensorflow/tfjs-node-gpu")) {
    const outcome = inFreshProcess(`return { info: await backend.initBackend("tensorflow") };`);
    assert.match(outcome.error ?? "", /@tensorflow\/tfjs-node is not installed/);
    const fromEnv = inFreshProcess(`return { info: await backend.initBackend() };`, { SWAMP_BACKEND: "tensorflow" });
    assert.match(fromEnv.error ?? "", /^SWAMP_BACKEND=tensorflow: @tensorflow\/tfjs-node is not installed/);
  }
  if (!installed("@tensorflow/tfjs-node-gpu")) {
    const outcome = inFreshProcess(`return { info: await backend.initBackend("tensorflow-gpu") };`);
    assert.match(outcome.error ?? "", /@tensorflow\/tfjs-node-gpu is not installed/);
  }
});

test("an unknown backend name is refused, naming the source and the valid names", () => {
  const byArgument = inFreshProcess(`return { info: await backend.initBackend("webgl") };`);
  assert.match(byArgument.error ?? "", /initBackend\(requested\): unknown TensorFlow\.js backend "webgl"; expected one of tensorflow-gpu, tensorflow, wasm, cpu/);
  const byEnv = inFreshProcess(`return { info: await backend.initBackend() };`, { SWAMP_BACKEND: "gpu" });
  assert.match(byEnv.error ?? "", /SWAMP_BACKEND: unknown TensorFlow\.js backend "gpu"/);
});

test("asking for another backend after the choice is refused; asking for the same one is not", () => {
  const outcome = inFreshProcess(`
    const info = await backend.initBackend("cpu");
    const again = await backend.initBackend("cpu");
    try { await backend.initBackend("wasm"); return { info, again }; } catch (error) { return { info, again, error: error.message }; }`);
  assert.equal(outcome.info!.name, "cpu");
  assert.deepEqual(outcome.again, outcome.info);
  assert.match(outcome.error ?? "", /already runs TensorFlow\.js on "cpu"; it cannot switch to "wasm"/);
});
