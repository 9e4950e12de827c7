/** A task thread that evaluates some rows of a loss-landscape plane (plane-grid.ts) with its own model session. */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../engine/backend.js";
import { ModelSession } from "../engine/model-session.js";
import { evaluateRows, type FromPlaneThread, type PlaneThreadData } from "./plane-grid.js";

async function main(): Promise<void> {
  const { config, dataset, backend, grid, rows } = workerData as PlaneThreadData;
  await initBackend(backend);
  const session = ModelSession.build(config, dataset.inputShape, dataset.numClasses);
  try {
    evaluateRows({ config, dataset, session }, grid, rows, (j, i, point) => parentPort!.postMessage({ type: "point", j, i, point } satisfies FromPlaneThread));
  } finally {
    session.dispose();
  }
  parentPort!.postMessage({ type: "done" } satisfies FromPlaneThread);
}

main().catch((error: unknown) => parentPort!.postMessage({ type: "failed", message: error instanceof Error ? error.message : String(error) } satisfies FromPlaneThread));
