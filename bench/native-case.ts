/** Runs one bench/native-thread.ts measurement in a fresh worker thread with the given environment. */
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { NativeBenchCase, NativeBenchResult } from "./native-thread.js";

export function measureInThread(c: NativeBenchCase, env: NodeJS.ProcessEnv): Promise<NativeBenchResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, "native-thread.js"), { workerData: c, env });
    worker.once("message", (message: { ok: boolean; result?: NativeBenchResult; error?: string }) => {
      void worker.terminate();
      if (message.ok) resolve(message.result!);
      else reject(new Error(message.error));
    });
    worker.once("error", reject);
  });
}
