/**
 * Which backend this machine's task threads run, found before any task: a fleet worker advertises
 * it and pulls only the tasks routed to it (or to any backend). A backend that is forced but cannot
 * start here fails now, with initBackend's reason, instead of failing every task it would pull.
 */
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { BACKEND_NAMES, type BackendName } from "../../schema/config.js";
import type { BackendProbeData, BackendProbeReply } from "./backend-probe-thread.js";

export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendUnavailableError";
  }
}

/** The backend initBackend(requested) chooses in a fresh thread here (see backend.ts for the order). */
export function probeBackend(requested?: string): Promise<BackendName> {
  const thread = new Worker(join(__dirname, "backend-probe-thread.js"), { workerData: { requested } satisfies BackendProbeData });
  return new Promise<BackendName>((resolve, reject) => {
    thread.once("message", (reply: BackendProbeReply) => {
      if (!reply.ok) reject(new BackendUnavailableError(reply.message));
      else if (!(BACKEND_NAMES as readonly string[]).includes(reply.name)) reject(new BackendUnavailableError(`unknown backend ${JSON.stringify(reply.name)}`));
      else resolve(reply.name as BackendName);
    });
    thread.once("error", (error) => reject(new BackendUnavailableError(`the backend probe failed: ${error.message}`)));
    thread.once("exit", (code) => reject(new BackendUnavailableError(`the backend probe thread exited (code ${code}) before answering`)));
  }).finally(() => void thread.terminate());
}
