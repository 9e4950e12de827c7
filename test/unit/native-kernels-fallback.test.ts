/**
 * Without the native kernels — disabled by SWAMP_NATIVE=0, or never built — the engine says why
 * and trains on the pure-wasm kernels; and the install-time build never fails the install.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { loadNative } from "../../worker/engine/native-kernels/addon.js";

const root = resolve(__dirname, "..", "..", "..");

test("SWAMP_NATIVE=0: not loaded, with the reason, and a conv + BatchNorm net still trains on pure wasm", () => {
  const child = spawnSync(process.execPath, [join(__dirname, "native-kernels-fallback-child.js")], {
    env: { ...process.env, SWAMP_NATIVE: "0", SWAMP_BACKEND: "" },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(child.status, 0, `child failed: ${child.stderr}`);
  const report = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as {
    backend: string; backendKernelSets: string[]; loaded: boolean; reason?: string; anyNativeKernel: boolean;
    usedNativeBatchNorm: boolean; usedConv2DBackpropFilter: boolean; losses: number[];
  };
  assert.equal(report.backend, "wasm");
  assert.equal(report.loaded, false);
  assert.match(report.reason ?? "", /SWAMP_NATIVE=0/);
  assert.equal(report.anyNativeKernel, false, "a native kernel was registered although SWAMP_NATIVE=0");
  assert.ok(!report.backendKernelSets.includes("native"), `kernel sets: ${report.backendKernelSets.join(", ")}`);
  assert.equal(report.usedNativeBatchNorm, false);
  assert.equal(report.usedConv2DBackpropFilter, true, "the convolution's filter gradient was not computed");
  assert.ok(report.losses.every(Number.isFinite), `losses: ${report.losses.join(", ")}`);
  assert.ok(report.losses.at(-1)! < report.losses[0]! * 0.7, `loss did not fall: ${report.losses.join(", ")}`);
});

test("an addon that was never built is reported as such, naming the file and the build command", () => {
  const result = loadNative({ addonPath: join(root, "native", "build", "Release", "missing-for-test.node") });
  assert.equal(result.ok, false);
  assert.match(result.ok ? "" : result.reason, /addon not built \(.*missing-for-test\.node missing; run: node scripts\/build-native\.mjs\)/);
});

test("the install-time build exits 0 with one line when it cannot or must not build", () => {
  for (const env of [{ SWAMP_NATIVE: "0" }, { CC: join(root, "no-such-compiler") }]) {
    const build = spawnSync(process.execPath, [join(root, "scripts", "build-native.mjs")], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });
    assert.equal(build.status, 0, JSON.stringify(env));
    const lines = build.stdout.trim().split("\n");
    assert.equal(lines.length, 1, `expected one line, got: ${build.stdout}`);
    assert.match(lines[0]!, /^swamp native kernels: not built.*pure-wasm kernels$/);
  }
});
