/**
 * Results on a WorkQueue stream with one durable consumer (the coordinator's): a result stays
 * stored until a handler has recorded it, however long the server is away.
 */
import { parseTaskResult, requireMessage, type TaskResultInput } from "../../schema/fleet-messages.js";
import { decodeMessage, encodeMessage } from "../message-codec.js";
import type { ConsumeResultsOptions, ResultConsumer, ResultHandler, ResultStream } from "../result-stream.js";
import { publishDurably } from "./durable-publish.js";
import { isClosed, type NatsContext } from "./nats-context.js";
import { startPullLoop } from "./pull-loop.js";
import type { Stoppables } from "../stoppables.js";

export class NatsResultStream implements ResultStream {
  constructor(
    private readonly context: NatsContext,
    private readonly consumers: Stoppables,
  ) {}

  async publish(result: TaskResultInput): Promise<void> {
    const valid = requireMessage("result", parseTaskResult(result));
    await publishDurably(
      this.context.js,
      this.context.names.resultSubject(valid.experimentId),
      encodeMessage(valid),
      // A retried publish of the same attempt's result is stored once.
      { msgID: `${valid.taskId}|${valid.workerId}|${valid.attempt}|${valid.outcome}` },
      { giveUpAfterMs: this.context.publishGiveUpMs, logger: this.context.logger, isConnectionClosed: isClosed(this.context) },
    );
  }

  consume(handler: ResultHandler, options: ConsumeResultsOptions = {}): ResultConsumer {
    const { names, logger } = this.context;
    const retryDelayMs = options.retryDelayMs ?? 1_000;
    return this.consumers.track(startPullLoop({
      js: this.context.js,
      stream: names.resultsStream,
      consumers: [names.resultsConsumer],
      concurrency: options.concurrency ?? 1,
      expiresMs: this.context.pullExpiresMs,
      label: "result stream",
      logger,
      isConnectionClosed: isClosed(this.context),
      handle: async (message) => {
        const result = decodeMessage(message.data, parseTaskResult, "result", `${message.subject} (stream sequence ${message.seq})`, logger);
        if (result === undefined) return message.term();
        try {
          await handler(result, { deliveryCount: message.info.deliveryCount });
        } catch (error) {
          logger.warn(`recording result of task ${result.taskId} failed (${(error as Error)?.message}); it will be delivered again`);
          return message.nak(retryDelayMs);
        }
        message.ack();
        await this.context.connection
          .flush()
          .catch(() => logger.warn(`ack of the result of task ${result.taskId} was not confirmed; it may be delivered again`));
      },
      handleLate: async (message) => message.nak(0),
    }));
  }

  async backlog(): Promise<number> {
    const info = await this.context.jsm.consumers.info(this.context.names.resultsStream, this.context.names.resultsConsumer);
    return info.num_pending + info.num_ack_pending;
  }
}
