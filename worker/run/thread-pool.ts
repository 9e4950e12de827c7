/**
 * A pool of task threads for one experiment. Tasks queue until a thread is free; each thread
 * trains one particle at a time, so N particles on C cores run C at once.
 */
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import type { MetricPoint } from "../../schema/metrics.js";
import type { BackendInfo } from "../engine/backend.js";
import type { TaskProgress } from "../engine/context.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import type { TfjsModelFiles } from "../formats/tfjs-model.js";
import type { InputOf, OutputOf, TaskKind } from "../tasks/types.js";
import type { FromThread, TaskThreadData, ToThread } from "./thread-protocol.js";

export interface TaskCallbacks {
  onMetrics?: (points: MetricPoint[]) => void;
  onProgress?: (progress: TaskProgress) => void;
}

interface Job {
  message: ToThread;
  callbacks: TaskCallbacks;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  busy?: Job;
}

export class ThreadError extends Error {
  constructor(name: string, message: string, stack?: string) {
    super(message);
    this.name = name;
    if (stack) this.stack = stack;
  }
}

export class ThreadPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private fatal: Error | undefined;
  backend!: BackendInfo;
  layout!: WeightLayout;

  private constructor() {}

  static async start(size: number, data: Omit<TaskThreadData, "stopFlag">): Promise<ThreadPool> {
    const pool = new ThreadPool();
    const ready = Array.from({ length: size }, () => pool.spawn(data));
    try {
      const first = await Promise.all(ready);
      pool.backend = first[0]!.backend;
      pool.layout = first[0]!.layout;
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  private spawn(data: Omit<TaskThreadData, "stopFlag">): Promise<{ backend: BackendInfo; layout: WeightLayout }> {
    const worker = new Worker(join(__dirname, "task-thread.js"), { workerData: { ...data, stopFlag: this.stopFlag.buffer } satisfies TaskThreadData });
    const slot: Slot = { worker };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      worker.on("message", (message: FromThread) => {
        if (message.type === "ready") {
          resolve({ backend: message.backend, layout: message.layout });
          this.dispatch();
        } else if (message.type === "fatal") {
          const error = new ThreadError(message.error.name, `task thread failed to start: ${message.error.message}`, message.error.stack);
          this.fatal = error;
          reject(error);
          this.failAll(error);
        } else {
          this.onJobMessage(slot, message);
        }
      });
      worker.on("error", (error) => {
        this.fatal = error;
        reject(error);
        this.failAll(error);
      });
    });
  }

  private onJobMessage(slot: Slot, message: Exclude<FromThread, { type: "ready" | "fatal" }>): void {
    const job = slot.busy;
    if (!job || job.message.id !== message.id) return;
    switch (message.type) {
      case "metrics":
        job.callbacks.onMetrics?.(message.points);
        return;
      case "progress":
        job.callbacks.onProgress?.(message.progress);
        return;
      case "done":
        slot.busy = undefined;
        job.resolve(message.output);
        break;
      case "exported":
        slot.busy = undefined;
        job.resolve(message.files);
        break;
      case "failed":
        slot.busy = undefined;
        job.reject(new ThreadError(message.error.name, message.error.message, message.error.stack));
        break;
    }
    this.dispatch();
  }

  private failAll(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
    for (const slot of this.slots) {
      slot.busy?.reject(error);
      slot.busy = undefined;
    }
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.busy = job;
      slot.worker.postMessage(job.message);
    }
  }

  private submit<T>(message: ToThread, callbacks: TaskCallbacks): Promise<T> {
    if (this.fatal) return Promise.reject(this.fatal);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ message, callbacks, resolve: resolve as (value: unknown) => void, reject });
      this.dispatch();
    });
  }

  run<K extends TaskKind>(input: InputOf<K>, callbacks: TaskCallbacks = {}): Promise<OutputOf<K>> {
    return this.submit({ type: "task", id: this.nextId++, input }, callbacks);
  }

  exportModel(weights: WeightValues): Promise<TfjsModelFiles> {
    return this.submit({ type: "export", id: this.nextId++, weights }, {});
  }

  /** Asks every running task to stop at its next step; queued tasks are dropped. */
  requestStop(): void {
    Atomics.store(this.stopFlag, 0, 1);
    for (const job of this.queue.splice(0)) job.reject(new ThreadError("TrainingAborted", "training was stopped"));
  }

  get stopRequested(): boolean {
    return Atomics.load(this.stopFlag, 0) !== 0;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}
