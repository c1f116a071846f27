/**
 * One queue per key: tasks of one key run one after another, in the order they were added; tasks of different keys
 * run side by side. A task runs after the one before it whatever that one's outcome — its own caller saw its error.
 * Keys with nothing queued are forgotten, so the queue holds only keys with work in it.
 */
export interface KeyedQueue {
  /** Runs `task` after every task queued before it under `key`; resolves or rejects with the task's outcome. */
  run<T>(key: string, task: () => Promise<T> | T): Promise<T>;
  /** Keys with queued or running work. */
  readonly size: number;
  /** Tasks queued or running under `key` (0 when none). */
  depth(key: string): number;
  /** Resolves once nothing is queued or running under any key (work added meanwhile is waited for too). */
  idle(): Promise<void>;
}

export function createKeyedQueue(): KeyedQueue {
  const tails = new Map<string, { settled: Promise<void>; depth: number }>();

  return {
    run<T>(key: string, task: () => Promise<T> | T): Promise<T> {
      const tail = tails.get(key);
      const previous = tail?.settled ?? Promise.resolve();
      const result = previous.then(task);
      const settled = result.then(
        () => undefined,
        () => undefined,
      );
      const entry = { settled, depth: (tail?.depth ?? 0) + 1 };
      tails.set(key, entry);
      void settled.then(() => {
        const current = tails.get(key);
        if (current === entry) tails.delete(key);
        else if (current) current.depth--;
      });
      return result;
    },
    get size() {
      return tails.size;
    },
    depth(key) {
      return tails.get(key)?.depth ?? 0;
    },
    async idle() {
      while (tails.size > 0) await Promise.all([...tails.values()].map((tail) => tail.settled));
    },
  };
}
