/**
 * A sliding-window limit on LLM requests: at most `perMinute` starts in any 60 s, so a catch-up after days offline
 * does not hammer a paid API. Wall-clock time on purpose (a rate is about the real server, not the data's clock).
 */
export interface RateLimiter {
  /** Resolves when one more request may start; rejects with the signal's reason if it is aborted first. */
  acquire(signal?: AbortSignal): Promise<void>;
}

const windowMs = 60_000;

export function createRateLimiter(perMinute: number, now: () => number = () => performance.now()): RateLimiter {
  const starts: number[] = [];
  let chain: Promise<void> = Promise.resolve();

  async function take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const time = now();
      while (starts.length > 0 && starts[0]! <= time - windowMs) starts.shift();
      if (starts.length < perMinute) {
        starts.push(time);
        return;
      }
      await sleep(starts[0]! + windowMs - time, signal);
    }
  }

  return {
    acquire(signal) {
      if (perMinute <= 0) return Promise.resolve();
      // One waiter at a time, so requests start in the order they asked.
      const turn = chain.then(() => take(signal));
      chain = turn.catch(() => undefined);
      return turn;
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
