import { PlatformError } from "../core/errors.js";

/**
 * A counting semaphore with abortable waiting: at most `limit` holders at once, the rest wait in
 * arrival order. Platforms use it so that no more candidates reach the hardware than it can take,
 * whichever way (local runtime, queue) they are evaluated.
 */
export class ConcurrencyLimit {
  private active = 0;
  private peakActive = 0;
  private readonly waiting: Array<{ grant: () => void }> = [];

  constructor(private limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  }

  /** Changes the limit (e.g. once the runtime reports its capacity); waiters are granted if room opened. */
  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
    this.limit = limit;
    this.drain();
  }

  /** Holders right now. */
  get inUse(): number {
    return this.active;
  }

  /** The most holders seen at once since creation. */
  get peak(): number {
    return this.peakActive;
  }

  /** Waits for a slot; the returned function gives it back (calling it twice is harmless). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new PlatformError("aborted", "evaluation was aborted before it started");
    if (this.active >= this.limit || this.waiting.length > 0) {
      await new Promise<void>((resolve, reject) => {
        const entry = {
          grant: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const index = this.waiting.indexOf(entry);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(new PlatformError("aborted", "evaluation was aborted while waiting for a free slot"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(entry);
        this.drain();
      });
    } else {
      this.take();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      this.drain();
    };
  }

  private take(): void {
    this.active += 1;
    this.peakActive = Math.max(this.peakActive, this.active);
  }

  private drain(): void {
    while (this.active < this.limit && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.take();
      next.grant();
    }
  }
}
