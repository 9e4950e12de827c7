/**
 * A short-lived thread that selects a TF.js backend as a task thread would (initBackend with the
 * same request) and says which it got, so a fleet worker knows what to advertise before it pulls
 * a task, without loading TensorFlow.js on its main thread (whose event loop keeps the leases).
 */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "./backend.js";

export interface BackendProbeData {
  requested?: string;
}

export type BackendProbeReply = { ok: true; name: string } | { ok: false; message: string };

initBackend((workerData as BackendProbeData).requested).then(
  (info) => parentPort!.postMessage({ ok: true, name: info.name } satisfies BackendProbeReply),
  (error: unknown) => parentPort!.postMessage({ ok: false, message: (error as Error)?.message ?? String(error) } satisfies BackendProbeReply),
);
