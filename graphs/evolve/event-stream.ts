import type { OptimizeEvent } from "./events.js";

/** An async iterator of a run's events plus the promise of its result. */
export interface EventStream<T> extends AsyncIterable<OptimizeEvent> {
  result: Promise<T>;
}

/**
 * Turns a callback-driven run into an async iterator of its events; iteration ends after the run
 * settles, and a failed run rethrows from the iterator.
 * @example for await (const event of streamEvents((onEvent) => optimize({ ...options, onEvent }))) render(event);
 */
export function streamEvents<T>(start: (onEvent: (event: OptimizeEvent) => void) => Promise<T>): EventStream<T> {
  const queue: OptimizeEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let failure: { error: unknown } | undefined;
  const result = start((event) => {
    queue.push(event);
    wake?.();
  }).then(
    (value) => {
      done = true;
      wake?.();
      return value;
    },
    (error: unknown) => {
      done = true;
      failure = { error };
      wake?.();
      throw error;
    },
  );
  // The iterator reports the failure; keep an unobserved result promise from crashing the process.
  result.catch(() => undefined);
  return {
    result,
    async *[Symbol.asyncIterator]() {
      while (true) {
        if (queue.length) {
          yield queue.shift()!;
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (failure) throw failure.error;
    },
  };
}
