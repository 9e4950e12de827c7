/**
 * The task queue on JetStream: a WorkQueue stream with one subject per task (so "already queued"
 * is an atomic publish expectation), one durable pull consumer with explicit ack, a finite max
 * deliver, and exhaustion collected durably in a stream that captures both the workers' reports
 * (with the failure's reason) and nats-server's MAX_DELIVERIES advisory (a worker that died on the
 * task's last delivery).
 */
import { JetStreamApiCodes, JetStreamApiError, type JsMsg } from "@nats-io/jetstream";
import {
  FLEET_MESSAGE_VERSION,
  parseTaskExhaustion,
  parseTaskMessage,
  requireMessage,
  taskIdentityOf,
  taskIdFor,
  TASK_KINDS,
  type FleetTaskKind,
  type TaskExhaustion,
  type TaskMessage,
} from "../../schema/fleet-messages.js";
import { decodeMessage, encodeMessage } from "../message-codec.js";
import { TaskDeliveryBase, runTaskHandler } from "../task-delivery.js";
import type {
  ConsumeTasksOptions,
  ExhaustionHandler,
  ExhaustionWatch,
  PublishTaskOutcome,
  TaskConsumer,
  TaskHandler,
  TaskQueue,
  TaskQueueSettings,
} from "../task-queue.js";
import { publishDurably } from "./durable-publish.js";
import { isClosed, type NatsContext } from "./nats-context.js";
import { startPullLoop } from "./pull-loop.js";
import type { Stoppables } from "../stoppables.js";

/** JetStream's answer to deleting a message that is not there (not among the client's named codes). */
const NO_MESSAGE_TO_DELETE = 10057;

class NatsTaskDelivery extends TaskDeliveryBase {
  constructor(
    private readonly context: NatsContext,
    private readonly message: JsMsg,
    task: TaskMessage,
    settings: TaskQueueSettings,
  ) {
    super(task, message.info.deliveryCount, settings.maxDeliveries, settings.ackWaitMs, settings.retryDelayMs);
  }

  protected signalWorking(): void {
    try {
      this.message.working();
    } catch {
      // The connection is closing: the ack wait now decides, as it would for a crashed worker.
    }
  }

  protected async doAck(): Promise<void> {
    this.message.ack();
    // The server answers a flush after everything sent before it, so the ack has arrived when it returns.
    await this.context.connection
      .flush()
      .catch(() => this.context.logger.warn(`ack of task ${this.task.taskId} was not confirmed; it may be delivered again`));
  }

  protected async doNak(delayMs: number): Promise<void> {
    this.message.nak(delayMs);
  }

  protected async doExhaust(reason: string): Promise<void> {
    const exhaustion: TaskExhaustion = {
      version: FLEET_MESSAGE_VERSION,
      taskId: this.task.taskId,
      experimentId: this.task.experimentId,
      task: this.task,
      reason,
      deliveries: this.deliveryCount,
      streamSequence: this.message.seq,
    };
    try {
      // Reported before the task is terminated: a crash in between leaves the task to the server's
      // advisory, never unreported.
      await publishDurably(
        this.context.js,
        this.context.names.exhaustedSubject(this.task.experimentId),
        encodeMessage(exhaustion),
        { msgID: `exhausted:${this.message.seq}` },
        { giveUpAfterMs: this.context.publishGiveUpMs, logger: this.context.logger, isConnectionClosed: isClosed(this.context) },
      );
    } catch (error) {
      this.context.logger.warn(
        `could not report task ${this.task.taskId} as exhausted (${(error as Error)?.message}); it is left to its ack wait and delivery limit`,
      );
      return;
    }
    // No reason on the wire: nats-server before 2.11 ignores a `+TERM <reason>` and keeps the message.
    this.message.term();
  }

  protected async doRelease(): Promise<void> {
    await publishDurably(this.context.js, this.message.subject, this.message.data, {}, {
      giveUpAfterMs: this.context.publishGiveUpMs,
      logger: this.context.logger,
      isConnectionClosed: isClosed(this.context),
    });
    this.message.ack();
  }
}

/** The part of the max-deliveries advisory we use. */
interface MaxDeliveriesAdvisory {
  stream_seq: number;
  deliveries: number;
}

function parseAdvisory(bytes: Uint8Array): MaxDeliveriesAdvisory | undefined {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as Partial<MaxDeliveriesAdvisory>;
    if (Number.isInteger(json.stream_seq) && Number.isInteger(json.deliveries)) return json as MaxDeliveriesAdvisory;
  } catch {
    // handled below
  }
  return undefined;
}

/** Remembers recently handled stream sequences so a task reported twice is handled once. */
class RecentSet {
  private readonly order: string[] = [];
  private readonly members = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(key: string): boolean {
    return this.members.has(key);
  }
  add(key: string): void {
    this.members.add(key);
    this.order.push(key);
    if (this.order.length > this.capacity) this.members.delete(this.order.shift()!);
  }
}

export class NatsTaskQueue implements TaskQueue {
  private readonly handledExhaustions = new RecentSet(10_000);

  constructor(
    private readonly context: NatsContext,
    readonly settings: TaskQueueSettings,
    private readonly consumers: Stoppables,
  ) {}

  async publish(task: TaskMessage): Promise<PublishTaskOutcome> {
    const valid = requireMessage("task", parseTaskMessage(task));
    try {
      await publishDurably(
        this.context.js,
        this.context.names.taskSubject({ ...taskIdentityOf(valid), route: valid.backend }),
        encodeMessage(valid),
        { expect: { lastSubjectSequence: 0 } },
        { giveUpAfterMs: this.context.publishGiveUpMs, logger: this.context.logger, isConnectionClosed: isClosed(this.context) },
      );
      return { queued: true };
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence) {
        return { queued: false, reason: "already-queued" };
      }
      throw error;
    }
  }

  consume(handler: TaskHandler, options: ConsumeTasksOptions = {}): TaskConsumer {
    const { names, logger } = this.context;
    const origin = (message: JsMsg) => `${message.subject} (stream sequence ${message.seq})`;
    const decode = (message: JsMsg) => decodeMessage(message.data, parseTaskMessage, "task", origin(message), logger);
    return this.consumers.track(startPullLoop({
      js: this.context.js,
      stream: names.tasksStream,
      // Tasks of the worker's own backend first: they continue experiments already pinned to it.
      consumers: options.backend === undefined ? [names.workersConsumer] : [names.routeConsumer(options.backend), names.workersConsumer],
      concurrency: options.concurrency ?? 1,
      expiresMs: this.context.pullExpiresMs,
      label: "task queue",
      logger,
      isConnectionClosed: isClosed(this.context),
      handle: async (message) => {
        const task = decode(message);
        if (task === undefined) return message.term();
        await runTaskHandler(handler, new NatsTaskDelivery(this.context, message, task, this.settings), (line) => logger.warn(line));
      },
      handleLate: async (message) => {
        const task = decode(message);
        if (task === undefined) return message.term();
        await new NatsTaskDelivery(this.context, message, task, this.settings).release();
      },
    }));
  }

  async onExhausted(handler: ExhaustionHandler): Promise<ExhaustionWatch> {
    const { names, logger } = this.context;
    return this.consumers.track(startPullLoop({
      js: this.context.js,
      stream: names.exhaustedStream,
      consumers: [names.exhaustedConsumer],
      concurrency: 1,
      expiresMs: this.context.pullExpiresMs,
      label: "exhaustion watch",
      logger,
      isConnectionClosed: isClosed(this.context),
      handle: async (message) => {
        if (names.maxDeliveriesAdvisorySubjects.includes(message.subject)) {
          await this.reportAdvisory(message);
          return message.ack();
        }
        const report = decodeMessage(message.data, parseTaskExhaustion, "task exhaustion", message.subject, logger);
        if (report === undefined) return message.term();
        // Removed before the handler runs, so that the handler may queue the task again.
        if (report.streamSequence !== undefined) await this.deleteTaskMessage(report.streamSequence);
        const key = String(report.streamSequence ?? report.taskId);
        if (!this.handledExhaustions.has(key)) {
          try {
            await handler(report.task, report.reason, report.deliveries);
          } catch (error) {
            logger.warn(`exhaustion handler failed for task ${report.taskId} (${(error as Error)?.message}); retrying`);
            return message.nak(this.settings.retryDelayMs);
          }
          this.handledExhaustions.add(key);
        }
        message.ack();
      },
      handleLate: async (message) => message.nak(0),
    }));
  }

  /**
   * Turns nats-server's advisory (which names only a stream sequence) into a self-contained report
   * carrying the task, so the task message can be removed at once and a failing handler retried.
   */
  private async reportAdvisory(message: JsMsg): Promise<void> {
    const { names, logger, jsm } = this.context;
    const advisory = parseAdvisory(message.data);
    if (advisory === undefined) return logger.warn(`ignored an unreadable max-deliveries advisory on ${message.subject}`);
    const stored = await jsm.streams.getMessage(names.tasksStream, { seq: advisory.stream_seq });
    // Gone: the experiment's tasks were removed, or a worker's report already handled it.
    if (stored === null) return;
    const task = decodeMessage(stored.data, parseTaskMessage, "task", `${names.tasksStream} sequence ${advisory.stream_seq}`, logger);
    if (task !== undefined) {
      const report: TaskExhaustion = {
        version: FLEET_MESSAGE_VERSION,
        taskId: task.taskId,
        experimentId: task.experimentId,
        task,
        reason:
          `not acknowledged on any of its ${advisory.deliveries} deliveries (ack wait ${this.settings.ackWaitMs / 1000} s each): ` +
          "the worker died, stalled or stopped signalling progress",
        deliveries: advisory.deliveries,
        streamSequence: advisory.stream_seq,
      };
      await publishDurably(
        this.context.js,
        names.exhaustedSubject(task.experimentId),
        encodeMessage(report),
        { msgID: `exhausted:${advisory.stream_seq}` },
        { giveUpAfterMs: this.context.publishGiveUpMs, logger, isConnectionClosed: isClosed(this.context) },
      );
    }
    await this.deleteTaskMessage(advisory.stream_seq);
  }

  /** WorkQueue streams keep a message that ran out of deliveries; remove it so the task can be queued again. */
  private async deleteTaskMessage(sequence: number): Promise<void> {
    await this.context.jsm.streams.deleteMessage(this.context.names.tasksStream, sequence, false).catch((error: unknown) => {
      if (!(error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.NoMessageFound || error.code === NO_MESSAGE_TO_DELETE))) throw error;
    });
  }

  /**
   * Deletes the experiment's task messages one by one: on nats-server 2.9 a purge by subject filter
   * moves the workers consumer past messages that were not purged, which would then never be delivered.
   */
  async removeExperiment(experimentId: string): Promise<number> {
    const { jsm, names } = this.context;
    let removed = 0;
    for (const subject of await this.experimentSubjects(experimentId)) {
      for (;;) {
        const stored = await jsm.streams.getMessage(names.tasksStream, { last_by_subj: subject });
        if (stored === null) break;
        await this.deleteTaskMessage(stored.seq);
        removed++;
      }
    }
    return removed;
  }

  private async experimentSubjects(experimentId: string): Promise<string[]> {
    const { jsm, names } = this.context;
    const info = await jsm.streams.info(names.tasksStream, { subjects_filter: names.experimentTasksFilter(experimentId) });
    return Object.keys(info.state.subjects ?? {});
  }

  async drainLegacyTasks(take: (task: TaskMessage) => Promise<void>): Promise<number> {
    const { jsm, names, logger } = this.context;
    const info = await jsm.streams.info(names.tasksStream, { subjects_filter: names.legacyTasksFilter });
    let removed = 0;
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      for (;;) {
        const stored = await jsm.streams.getMessage(names.tasksStream, { last_by_subj: subject });
        if (stored === null) break;
        // Read as this version reads tasks: a legacy task has no route, which means `any`.
        const task = decodeMessage(stored.data, parseTaskMessage, "task", `${subject} (stream sequence ${stored.seq})`, logger);
        if (task !== undefined) await take(task);
        await this.deleteTaskMessage(stored.seq);
        removed++;
      }
    }
    return removed;
  }

  async queuedTaskIds(experimentId: string): Promise<string[]> {
    const ids = (await this.experimentSubjects(experimentId)).flatMap((subject) => {
      const [kind, cycle, particle] = subject.split(".").slice(-3);
      if (!(TASK_KINDS as readonly string[]).includes(kind!)) return [];
      const index = (token: string | undefined) => (token === undefined || token === "_" ? undefined : Number(token));
      // An analyze task's subject holds its analysis id where the others hold the cycle.
      if (kind === "analyze") return [taskIdFor({ experimentId, kind, analysis: index(cycle) })];
      return [taskIdFor({ experimentId, kind: kind as FleetTaskKind, cycle: index(cycle), particle: index(particle) })];
    });
    return ids.sort();
  }
}
