/**
 * Pulls one message at a time from durable pull consumers while a handler slot is free, so a
 * worker never holds messages it has not started (their ack wait would run down unseen). With
 * several consumers (a worker's backend route and the `any` route) it stays with one while it
 * yields messages and moves on when a pull comes back empty, so a busy route's tasks follow one
 * another at once (taking turns after every message made each wait a whole empty pull on the
 * other route, 3 s by default); after FAIR_STREAK messages in a row the next consumer gets a
 * short turn (one pull of the shortest expiry), so neither route starves the other. Before each
 * pull it asks the consumers how many messages they hold undelivered: one that holds none is
 * passed over for one that holds some, since a pull from it waits out its whole expiry while
 * tasks wait elsewhere (a fairness turn on an empty route cost 1 s every FAIR_STREAK tasks). While
 * all are empty it pulls for the shortest expiry, in turn, so an idle loop notices a message on
 * any of them within about one second; for the first second after a task settles it asks every
 * 50 ms instead, since the next stage's tasks usually follow a result within milliseconds. (A
 * task waiting for redelivery is not counted as held, which is why idle loops still pull in turn.)
 * Survives
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
/** Messages taken in a row from one consumer before another gets a turn. */
const FAIR_STREAK = 4;
/** The shortest pull the client allows: a turn given for fairness costs at most this when empty. */
const SHORTEST_PULL_MS = 1_000;
/** After a task settles, how long an idle loop on several routes asks for queued tasks instead of pulling one route. */
const SETTLE_WATCH_MS = 1_000;
const SETTLE_POLL_MS = 50;

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

  let lastSettled = -Infinity;
  const loop = (async () => {
    const consumers = new Map<string, Consumer>();
    let turn = 0;
    let streak = 0;
    // True while the current consumer was given a turn for fairness: it is asked briefly.
    let fairnessTurn = false;
    const moveOn = (forFairness: boolean) => {
      turn++;
      streak = 0;
      fairnessTurn = forFairness;
    };
    const consumerNamed = async (name: string): Promise<Consumer> => {
      let consumer = consumers.get(name);
      if (consumer === undefined) {
        consumer = await options.js.consumers.get(options.stream, name);
        consumers.set(name, consumer);
      }
      return consumer;
    };
    /**
     * When the consumer whose turn it is holds no undelivered message and another does, the turn
     * passes to the next that does. Returns whether all of them are empty (false when asking failed:
     * the turn then stays, and the pull reports the failure).
     */
    const passOverEmpty = async (): Promise<boolean> => {
      const count = options.consumers.length;
      let pending: number[];
      try {
        pending = await Promise.all(options.consumers.map(async (name) => (await (await consumerNamed(name)).info()).num_pending));
      } catch {
        return false;
      }
      const current = turn % count;
      if (pending[current]! > 0) return false;
      for (let step = 1; step < count; step++) {
        if (pending[(current + step) % count]! > 0) {
          turn += step;
          // A fairness turn passed over stays owed: the next message taken gives it another.
          streak = fairnessTurn ? FAIR_STREAK - 1 : 0;
          fairnessTurn = false;
          return false;
        }
      }
      return true;
    };
    // Counted per consumer, so that one that keeps failing is reported as such while another works.
    const failuresOf = new Map<string, number>();
    while (!stopping && !options.isConnectionClosed()) {
      if (active >= concurrency) {
        await pause();
        continue;
      }
      // Idle on several routes: short pulls, so a task queued on the route not being waited on
      // (a pinned experiment's next stage) waits at most the shortest pull, not a whole expiry.
      const idle = options.consumers.length > 1 && (await passOverEmpty());
      // Just after a task, the coordinator is likely queueing the next stage on either route:
      // asking every 50 ms for a while catches it wherever it lands, where a pull waits on one.
      if (idle && performance.now() - lastSettled < SETTLE_WATCH_MS) {
        await pause(SETTLE_POLL_MS);
        continue;
      }
      const name = options.consumers[turn % options.consumers.length]!;
      let failures = failuresOf.get(name) ?? 0;
      try {
        const consumer = await consumerNamed(name);
        const message = await consumer.next({ expires: fairnessTurn || idle ? Math.min(expires, SHORTEST_PULL_MS) : expires });
        if (failures > 0) options.logger.info(`${options.label}: pulling from ${options.stream}/${name} again after ${failures} failed attempt(s)`);
        failuresOf.delete(name);
        if (message === null) {
          moveOn(false);
          continue;
        }
        fairnessTurn = false;
        if (++streak >= FAIR_STREAK && options.consumers.length > 1) moveOn(true);
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
            lastSettled = performance.now();
            running.delete(handled);
            wake?.();
          });
        running.add(handled);
      } catch (error) {
        if (stopping || options.isConnectionClosed()) break;
        moveOn(false);
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
