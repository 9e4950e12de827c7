/**
 * Pulls one message at a time from durable pull consumers while a handler slot is free, so a
 * worker never holds messages it has not started (their ack wait would run down unseen). With
 * several consumers (a worker's backend route and the `any` route) it takes turns, one pull each,
 * so an idle loop notices a message on either within about two pull expiries. Survives
 * NATS outages by retrying with backoff; `stop()` waits for the pull in flight (at most `expiresMs`)
 * and the running handlers.
 */
import type { Consumer, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { TransportLogger } from "../logger.js";

export interface PullLoopOptions {
  js: JetStreamClient;
  stream: string;
  /** Durable consumers of the stream, pulled from in turn. */
  consumers: readonly string[];
  concurrency: number;
  /** How long one pull request waits for a message (the client's minimum is 1000 ms). */
  expiresMs: number;
  /** Names the loop in log lines, e.g. `task queue`. */
  label: string;
  logger: TransportLogger;
  isConnectionClosed: () => boolean;
  handle: (message: JsMsg) => Promise<void>;
  /** A message that arrived while stopping: hand it back without working on it. */
  handleLate: (message: JsMsg) => Promise<void>;
}

export interface PullLoop {
  readonly active: number;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5_000;

export function startPullLoop(options: PullLoopOptions): PullLoop {
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const expires = Math.max(1_000, options.expiresMs);
  let stopping = false;
  let active = 0;
  const running = new Set<Promise<void>>();
  let wake: (() => void) | undefined;
  const pause = (ms?: number) =>
    new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        if (timer !== undefined) clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const loop = (async () => {
    const consumers = new Map<string, Consumer>();
    let turn = 0;
    // Counted per consumer, so that one that keeps failing is reported as such while another works.
    const failuresOf = new Map<string, number>();
    while (!stopping && !options.isConnectionClosed()) {
      if (active >= concurrency) {
        await pause();
        continue;
      }
      const name = options.consumers[turn++ % options.consumers.length]!;
      let failures = failuresOf.get(name) ?? 0;
      try {
        let consumer = consumers.get(name);
        if (consumer === undefined) {
          consumer = await options.js.consumers.get(options.stream, name);
          consumers.set(name, consumer);
        }
        const message = await consumer.next({ expires });
        if (failures > 0) options.logger.info(`${options.label}: pulling from ${options.stream}/${name} again after ${failures} failed attempt(s)`);
        failuresOf.delete(name);
        if (message === null) continue;
        if (stopping) {
          await options.handleLate(message).catch((error: unknown) => options.logger.warn(`${options.label}: ${(error as Error).message}`));
          continue;
        }
        active++;
        const handled: Promise<void> = options
          .handle(message)
          .catch((error: unknown) => options.logger.error(`${options.label}: handler failed: ${(error as Error)?.message ?? String(error)}`))
          .finally(() => {
            active--;
            running.delete(handled);
            wake?.();
          });
        running.add(handled);
      } catch (error) {
        if (stopping || options.isConnectionClosed()) break;
        const code = error instanceof JetStreamApiError ? error.code : undefined;
        if (code === JetStreamApiCodes.ConsumerNotFound || code === JetStreamApiCodes.StreamNotFound) consumers.delete(name);
        failuresOf.set(name, ++failures);
        // One line when pulling starts failing and one every 10 failures, not one per retry.
        if (failures === 1 || failures % 10 === 0) {
          options.logger.warn(`${options.label}: pull from ${options.stream}/${name} failed (${(error as Error)?.message}); retrying`);
        }
        await pause(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  })();

  return {
    get active() {
      return active;
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      await Promise.all([...running]);
    },
  };
}
