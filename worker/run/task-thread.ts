/**
 * A worker thread that runs SWAMP tasks: it selects its own TF.js backend (each thread has its
 * own wasm instance), builds the model once, and then runs the tasks the runner sends it.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { MetricPoint } from "../../schema/metrics.js";
import { initBackend } from "../engine/backend.js";
import type { EngineContext } from "../engine/context.js";
import { ModelSession } from "../engine/model-session.js";
import { exportLayersModel } from "../formats/tfjs-model.js";
import { runTask } from "../tasks/registry.js";
import type { FromThread, TaskThreadData, ToThread } from "./thread-protocol.js";

const METRIC_FLUSH_MS = 500;
const PROGRESS_EVERY_MS = 200;

function post(message: FromThread, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

function describeError(error: unknown): { name: string; message: string; stack?: string } {
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { name: "Error", message: String(error) };
}

async function main(): Promise<void> {
  const data = workerData as TaskThreadData;
  const stop = new Int32Array(data.stopFlag);
  const backend = await initBackend(data.backend);
  const { dataset, config } = data;
  const session = ModelSession.build(config, dataset.inputShape, dataset.numClasses);
  post({ type: "ready", backend, layout: session.layout });

  parentPort!.on("message", (message: ToThread) => {
    void handle(message).catch((error) => post({ type: "failed", id: message.id, error: describeError(error) }));
  });

  async function handle(message: ToThread): Promise<void> {
    if (message.type === "export") {
      const files = await exportLayersModel(session, message.weights);
      post({ type: "exported", id: message.id, files });
      return;
    }
    let pending: MetricPoint[] = [];
    let lastFlush = Date.now();
    let lastProgress = 0;
    const flush = () => {
      if (pending.length > 0) post({ type: "metrics", id: message.id, points: pending });
      pending = [];
      lastFlush = Date.now();
    };
    const context: EngineContext = {
      config,
      dataset,
      session,
      signal: { get aborted() { return Atomics.load(stop, 0) !== 0; } },
      emitMetric: (point) => {
        pending.push(point);
        if (Date.now() - lastFlush >= METRIC_FLUSH_MS) flush();
      },
      onProgress: (progress) => {
        const now = Date.now();
        if (now - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = now;
        post({ type: "progress", id: message.id, progress });
      },
    };
    const output = await runTask(context, message.input);
    flush();
    const transfer = "weights" in output ? output.weights.map((w) => w.buffer as ArrayBuffer) : [];
    post({ type: "done", id: message.id, output }, transfer);
  }
}

main().catch((error) => post({ type: "fatal", error: describeError(error) }));
