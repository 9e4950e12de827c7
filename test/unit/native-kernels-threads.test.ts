/**
 * The addon is context-aware: two worker threads load it and compute with it at the same time,
 * each with its own wasm heap, and every result equals what the thread computed alone (and the
 * cpu backend). This is how particles train in parallel.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { ThreadReport } from "./native-kernels-thread-worker.js";
import { TOLERANCE } from "./native-kernels-harness.js";

function runThread(seed: number, barrier: SharedArrayBuffer, threads: number): Promise<ThreadReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, "native-kernels-thread-worker.js"), { workerData: { seed, barrier, threads, iterations: 200 } });
    worker.once("message", (message: ThreadReport | { error: string }) => {
      void worker.terminate();
      if ("error" in message) reject(new Error(`thread ${seed}: ${message.error}`));
      else resolve(message);
    });
    worker.once("error", reject);
  });
}

test("two worker threads use the native kernels at once and get correct results", async () => {
  const threads = 2;
  const barrier = new SharedArrayBuffer(4);
  const reports = await Promise.all([11, 12].map((seed) => runThread(seed, barrier, threads)));
  for (const [i, report] of reports.entries()) {
    assert.equal(report.loaded, true, `thread ${i}: ${report.reason ?? ""}`);
    assert.ok(report.cpuError < TOLERANCE, `thread ${i}: relative error against cpu ${report.cpuError}`);
    assert.equal(report.mismatches, 0, `thread ${i}: ${report.mismatches} results changed while the other thread was computing`);
  }
  const [first, second] = reports as [ThreadReport, ThreadReport];
  assert.ok(first.concurrentStart < second.concurrentEnd && second.concurrentStart < first.concurrentEnd, "the threads did not overlap");
});
