/**
 * Runs a fleet `analyze` task on a thread of its own (analysis-thread.ts): serves the thread's
 * artifact reads from the store (verified by sha256), forwards its progress, and stores the result
 * as a JSON artifact, since a result (a plane's grids) can outgrow a message.
 */
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import type { AnalyzeTask, TaskResultInput } from "../../schema/fleet-messages.js";
import { ANALYSIS_RESULT_FORMAT } from "../../protocol/task-kinds/analyze.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import { ThreadError } from "../run/thread-pool.js";
import type { AnalysisThreadData, FromAnalysisThread, ToAnalysisThread } from "./analysis-thread.js";

export interface AnalysisTaskRun {
  task: AnalyzeTask;
  artifacts: ArtifactStore;
  workerId: string;
  attempt: number;
  backend?: string;
  /** Fraction done, in [0, 1]. */
  onProgress: (fraction: number) => void;
}

/** Errors that another delivery would only repeat: the input or the stored models are wrong. */
export const PERMANENT_ANALYSIS_ERRORS = new Set(["InvalidAnalysisInputError", "AnalysisSourceError", "MaskMismatchError", "StoredModelMissingError"]);

export interface RunningAnalysis {
  result: Promise<TaskResultInput>;
  /** Ends the thread at once; `result` then rejects with a TrainingAborted error. */
  stop(): void;
}

export function runAnalysisTask(run: AnalysisTaskRun): RunningAnalysis {
  const { task, artifacts } = run;
  const data: AnalysisThreadData = { input: { kind: "analyze", analysisKind: task.analysisKind, input: task.input, sources: task.sources }, backend: run.backend };
  const thread = new Worker(join(__dirname, "analysis-thread.js"), { workerData: data });
  let stopped = false;
  const result = new Promise<TaskResultInput>((resolve, reject) => {
    let settled = false;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      action();
      void thread.terminate();
    };
    thread.on("message", (message: FromAnalysisThread) => {
      switch (message.type) {
        case "fetch":
          artifacts.get(message.ref).then(
            (bytes) => thread.postMessage({ type: "artifact", id: message.id, bytes } satisfies ToAnalysisThread),
            (error: Error) => thread.postMessage({ type: "artifact-failed", id: message.id, error: { name: error.name, message: error.message } } satisfies ToAnalysisThread),
          );
          return;
        case "progress":
          run.onProgress(message.fraction);
          return;
        case "failed":
          settle(() => reject(new ThreadError(message.error.name, message.error.message, message.error.stack)));
          return;
        case "done":
          settle(() => {
            const bytes = new TextEncoder().encode(JSON.stringify(message.result));
            artifacts.put(bytes, { format: ANALYSIS_RESULT_FORMAT }).then(
              (ref) =>
                resolve({
                  taskId: task.taskId,
                  experimentId: task.experimentId,
                  workerId: run.workerId,
                  attempt: run.attempt,
                  outcome: "succeeded",
                  kind: "analyze",
                  analysis: task.analysis,
                  finishedAt: Date.now(),
                  outputs: { result: ref },
                  numbers: { seconds: message.seconds },
                }),
              reject,
            );
          });
          return;
      }
    });
    thread.on("error", (error) => settle(() => reject(error)));
    thread.on("exit", (code) => settle(() => reject(stopped ? new ThreadError("TrainingAborted", "the analysis was stopped") : new Error(`the analysis thread exited with code ${code}`))));
  });
  return {
    result,
    stop: () => {
      stopped = true;
      void thread.terminate();
    },
  };
}
