/** Worker slots from the container's CPU limit, read from fake cgroup v1 and v2 files. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { cgroupCpuLimit, defaultWorkerSlots } from "../../worker/fleet/cpu-limit.js";

const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

function cgroup(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "swamp-cgroup-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), `${text}\n`);
  }
  return root;
}

test("cgroup v2: cpu.max quota/period gives the slots, rounded down, at least one, at most the cores", () => {
  assert.deepEqual(defaultWorkerSlots(cgroup({ "cpu.max": "200000 100000" }), 16), { slots: 2, source: "CPU limit 2 from cgroup v2 cpu.max" });
  assert.equal(defaultWorkerSlots(cgroup({ "cpu.max": "250000 100000" }), 16).slots, 2);
  assert.equal(defaultWorkerSlots(cgroup({ "cpu.max": "50000 100000" }), 16).slots, 1);
  assert.equal(defaultWorkerSlots(cgroup({ "cpu.max": "3200000 100000" }), 8).slots, 8);
});

test("cgroup v2 without a limit (max) and no cgroup files: one slot per host core", () => {
  assert.deepEqual(defaultWorkerSlots(cgroup({ "cpu.max": "max 100000" }), 6), { slots: 6, source: "6 host core(s)" });
  assert.deepEqual(defaultWorkerSlots(cgroup({}), 4), { slots: 4, source: "4 host core(s)" });
});

test("cgroup v1: cfs quota and period (under cpu or cpu,cpuacct); quota -1 means no limit", () => {
  assert.deepEqual(cgroupCpuLimit(cgroup({ "cpu/cpu.cfs_quota_us": "300000", "cpu/cpu.cfs_period_us": "100000" })), { cpus: 3, file: "cgroup v1 cpu.cfs_quota_us" });
  assert.equal(defaultWorkerSlots(cgroup({ "cpu,cpuacct/cpu.cfs_quota_us": "150000", "cpu,cpuacct/cpu.cfs_period_us": "100000" }), 16).slots, 1);
  assert.equal(defaultWorkerSlots(cgroup({ "cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000" }), 12).slots, 12);
});
