import type { TopicSubscription } from "../../transport/live-feed/pubsub.js";

/** Returned by `map` to end the stream (e.g. the experiment was deleted). */
export const END_OF_STREAM = Symbol("end of stream");

export interface LiveStreamOptions<E, T> {
  /** Emitted first, after the subscription is registered (current state, stored history), pulled as the client reads. */
  initial?: () => AsyncIterable<T>;
  source: TopicSubscription<E>;
  /** Turns one event into what to emit (possibly nothing), or ends the stream. */
  map: (event: E) => Promise<T[] | typeof END_OF_STREAM>;
}

/**
 * A subscription's result stream. Unlike an async generator, `return()` takes effect at once even
 * while waiting for the next event, so a client that unsubscribes frees its PubSub subscription
 * immediately instead of at the next event.
 */
export function liveStream<E, T>(options: LiveStreamOptions<E, T>): AsyncIterableIterator<T> {
  const ready: T[] = [];
  let initial: AsyncIterator<T> | null = options.initial ? options.initial()[Symbol.asyncIterator]() : null;
  let ended = false;
  const finish = async (): Promise<IteratorResult<T, undefined>> => {
    ended = true;
    ready.length = 0;
    const pending = initial;
    initial = null;
    await pending?.return?.();
    await options.source.return();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T, undefined>> {
      try {
        while (!ended) {
          if (ready.length > 0) return { value: ready.shift()!, done: false };
          if (initial) {
            const step = await initial.next();
            if (!step.done) return { value: step.value, done: false };
            initial = null;
            continue;
          }
          const event = await options.source.next();
          if (event.done || ended) return finish();
          const mapped = await options.map(event.value);
          if (mapped === END_OF_STREAM) return finish();
          ready.push(...mapped);
        }
        return { value: undefined, done: true };
      } catch (error) {
        await finish();
        throw error;
      }
    },
    return: finish,
    async throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
