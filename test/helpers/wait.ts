export interface WaitOptions {
  /** How long to poll before failing; 5 s by default. */
  readonly timeoutMs?: number;
  /** Said after "condition not met in time" when time runs out: the state worth seeing then. */
  readonly describe?: () => string;
}

/** Resolves once `condition()` holds, polling every 10 ms; throws when it does not within the timeout. */
export async function waitUntil(condition: () => boolean, options: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met in time${options.describe ? `; ${options.describe()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
