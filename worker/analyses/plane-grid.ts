/**
 * The grid points of a loss-landscape plane, evaluated in this thread or shared by row among task
 * threads (plane-thread.ts), each with its own model session. A point's weights are
 * origin + x·u + y·v over the trainable tensors (the rest start from the origin's), its BatchNorm
 * statistics are recomputed from a stream seeded by (seed, row, column), so the grid is the same
 * whatever the number of threads.
 */
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import type { DatasetSplit } from "../data/dataset.js";
import { backendInfo } from "../engine/backend.js";
import { Random } from "../engine/rng.js";
import { cloneWeights, type WeightValues } from "../engine/weights.js";
import { evaluateWeights, throwIfStopped } from "./evaluation.js";
import type { AnalysisContext } from "./registry.js";

export interface PlaneGrid {
  origin: WeightValues;
  /** Layout positions of the trainable tensors, and u and v over them. */
  positions: number[];
  u: Float64Array[];
  v: Float64Array[];
  xs: number[];
  ys: number[];
  seed: number;
  train: DatasetSplit;
  test: DatasetSplit;
}

export interface GridPoint {
  loss: number;
  accuracy: number;
}

/** Evaluates the given rows in this thread; calls onPoint after each point. */
export function evaluateRows(context: Pick<AnalysisContext, "config" | "dataset" | "session" | "signal">, grid: PlaneGrid, rows: number[], onPoint: (j: number, i: number, point: GridPoint) => void): void {
  const weights = cloneWeights(grid.origin);
  for (const j of rows) {
    const y = grid.ys[j]!;
    for (const [i, x] of grid.xs.entries()) {
      throwIfStopped(context);
      grid.positions.forEach((position, k) => {
        const out = weights[position]!;
        const origin = grid.origin[position]!;
        const u = grid.u[k]!;
        const v = grid.v[k]!;
        for (let n = 0; n < out.length; n++) out[n] = origin[n]! + x * u[n]! + y * v[n]!;
      });
      const result = evaluateWeights(context, weights, { train: grid.train, test: grid.test }, Random.derive(grid.seed, ["analysis", "plane", "bn", j, i]));
      onPoint(j, i, { loss: result.train.loss, accuracy: result.test.accuracy });
    }
  }
}

/** Every point of the grid, row-major (index j·xs.length + i). */
export async function evaluateGrid(context: AnalysisContext, grid: PlaneGrid): Promise<GridPoint[]> {
  const total = grid.xs.length * grid.ys.length;
  const points: GridPoint[] = new Array(total);
  let done = 0;
  const record = (j: number, i: number, point: GridPoint) => {
    points[j * grid.xs.length + i] = point;
    done++;
    context.onProgress(done / total);
  };
  const threads = Math.max(1, Math.min(context.threads ?? 1, grid.ys.length));
  const rowsOf = (t: number) => grid.ys.map((_, j) => j).filter((j) => j % threads === t);
  if (threads === 1) {
    evaluateRows(context, grid, rowsOf(0), record);
    return points;
  }
  // This thread takes a share of the rows too, so `threads` threads compute in all.
  const helpers = Array.from({ length: threads - 1 }, (_, t) => runRowsInThread(context, grid, rowsOf(t + 1), record));
  evaluateRows(context, grid, rowsOf(0), record);
  await Promise.all(helpers);
  return points;
}

export interface PlaneThreadData {
  config: AnalysisContext["config"];
  dataset: AnalysisContext["dataset"];
  backend?: string;
  grid: PlaneGrid;
  rows: number[];
}

export type FromPlaneThread = { type: "point"; j: number; i: number; point: GridPoint } | { type: "done" } | { type: "failed"; message: string };

function runRowsInThread(context: AnalysisContext, grid: PlaneGrid, rows: number[], record: (j: number, i: number, point: GridPoint) => void): Promise<void> {
  const data: PlaneThreadData = { config: context.config, dataset: context.dataset, backend: backendInfo()?.name, grid, rows };
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, "plane-thread.js"), { workerData: data });
    worker.on("message", (message: FromPlaneThread) => {
      if (message.type === "point") record(message.j, message.i, message.point);
      else if (message.type === "failed") reject(new Error(`plane thread: ${message.message}`));
      else if (message.type === "done") void worker.terminate().then(() => resolve());
    });
    worker.on("error", reject);
  });
}
