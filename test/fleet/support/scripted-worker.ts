/**
 * A worker that trains nothing: it pulls tasks over NATS like `swamp worker` and answers each with
 * a well-formed result whose artifacts it stored, for a pretend model of 16 weights. Tests use it
 * to drive the coordinator through whole experiments in a fraction of a second, and to choose what
 * each aggregate reports (e.g. a mask that prunes everything).
 */
import type { AggregateCycleTask, TaskMessage, TaskResultInput } from "../../../schema/fleet-messages.js";
import { createNatsTransport } from "../../../transport/nats/nats-transport.js";
import type { TaskConsumer } from "../../../transport/task-queue.js";
import type { NatsTransport } from "../../../transport/nats/nats-transport.js";
import { CaptureLogger } from "../../transport/support/capture-logger.js";
import type { Fleet } from "./fleet.js";

export const SCRIPTED_MODEL_WEIGHTS = 16;

export interface ScriptedWorkerOptions {
  workerId?: string;
  /** The next mask an aggregate reports (2 bytes for 16 weights); default: the first 12 weights kept. */
  nextMask?: (task: AggregateCycleTask) => Uint8Array;
}

export interface ScriptedWorker {
  readonly transport: NatsTransport;
  /** Task ids answered so far, in order. */
  readonly answered: string[];
  stop(): Promise<void>;
}

const aliveIn = (mask: Uint8Array) => [...mask].reduce((sum, byte) => sum + byte.toString(2).replace(/0/g, "").length, 0);

export async function startScriptedWorker(fleet: Pick<Fleet, "natsUrl" | "namespace">, options: ScriptedWorkerOptions = {}): Promise<ScriptedWorker> {
  const workerId = options.workerId ?? "scripted-worker";
  const transport = await createNatsTransport({ url: fleet.natsUrl, namespace: fleet.namespace, pullExpiresMs: 1_000, logger: new CaptureLogger() });
  const answered: string[] = [];
  const weights = (task: TaskMessage) => transport.artifacts.put(new TextEncoder().encode(`weights of ${task.taskId}`), { format: "swamp-weights" });

  async function resultFor(task: TaskMessage, attempt: number): Promise<TaskResultInput> {
    const common = { taskId: task.taskId, experimentId: task.experimentId, workerId, attempt, finishedAt: Date.now(), outcome: "succeeded" as const };
    switch (task.kind) {
      case "pretrain":
        return { ...common, kind: "pretrain", outputs: { weights: await weights(task) }, numbers: { seconds: 0.01 } };
      case "train-particle":
        return {
          ...common,
          kind: "train-particle",
          cycle: task.cycle,
          particle: task.particle,
          outputs: { weights: await weights(task) },
          numbers: { orderSeed: 7, accuracy: 0.5, loss: 1, epochLosses: [1], swaSnapshots: 0, seconds: 0.01, examplesPerSecond: 100 },
        };
      case "analyze":
        throw new Error("the scripted worker answers cycle tasks only");
      case "aggregate-cycle": {
        const mask = task.inputs.mask ? await transport.artifacts.get(task.inputs.mask) : new Uint8Array([0xff, 0xff]);
        const alive = aliveIn(mask);
        const nextMask = task.final ? null : await transport.artifacts.put(options.nextMask?.(task) ?? new Uint8Array([0xff, 0x0f]), { format: "swamp-mask" });
        return {
          ...common,
          kind: "aggregate-cycle",
          cycle: task.cycle,
          outputs: { weights: await weights(task), nextMask },
          numbers: {
            accuracy: 0.75,
            loss: 0.5,
            sparsity: 1 - alive / SCRIPTED_MODEL_WEIGHTS,
            alive,
            total: SCRIPTED_MODEL_WEIGHTS,
            layers: [{ layer: "dense", alive, total: SCRIPTED_MODEL_WEIGHTS }],
            seconds: 0.01,
          },
        };
      }
    }
  }

  const consumer: TaskConsumer = transport.tasks.consume(
    async (delivery) => {
      await transport.results.publish(await resultFor(delivery.task, delivery.deliveryCount));
      answered.push(delivery.task.taskId);
      await delivery.ack();
    },
    { concurrency: 4 },
  );
  return {
    transport,
    answered,
    async stop() {
      await consumer.stop();
      await transport.close();
    },
  };
}
