/**
 * A worker thread that runs one analysis (worker/tasks/analyze.ts): TF.js work blocks its event
 * loop for seconds at a time, which must not stall the worker's heartbeats and task leases. It
 * asks the main thread for artifacts (the main thread holds the transport) and reports progress.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { ArtifactRef } from "../../schema/fleet-messages.js";
import { analyze, type AnalyzeInput } from "../tasks/analyze.js";

export interface AnalysisThreadData {
  input: AnalyzeInput;
  backend?: string;
}

export type ToAnalysisThread = { type: "artifact"; id: number; bytes: Uint8Array } | { type: "artifact-failed"; id: number; error: { name: string; message: string } };

export type FromAnalysisThread =
  | { type: "fetch"; id: number; ref: ArtifactRef }
  | { type: "progress"; fraction: number }
  | { type: "done"; result: unknown; seconds: number }
  | { type: "failed"; error: { name: string; message: string; stack?: string } };

function post(message: FromAnalysisThread): void {
  parentPort!.postMessage(message);
}

const pending = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>();
let nextId = 1;

parentPort!.on("message", (message: ToAnalysisThread) => {
  const waiting = pending.get(message.id);
  if (!waiting) return;
  pending.delete(message.id);
  if (message.type === "artifact") waiting.resolve(message.bytes);
  else waiting.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
});

const fetch = (ref: ArtifactRef): Promise<Uint8Array> =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    post({ type: "fetch", id, ref });
  });

const data = workerData as AnalysisThreadData;
analyze({ fetch, onProgress: (fraction) => post({ type: "progress", fraction }), backend: data.backend }, data.input)
  .then((output) => post({ type: "done", result: output.result, seconds: output.seconds }))
  .catch((error: unknown) => {
    const described = error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { name: "Error", message: String(error) };
    post({ type: "failed", error: described });
  })
  .finally(() => parentPort!.unref());
