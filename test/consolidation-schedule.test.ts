import { describe, expect, it } from 'vitest';
import type { RunDueOptions, RunDueResult } from '../src/consolidation/consolidator.js';
import { createConsolidationScheduler } from '../src/consolidation/scheduler.js';
import { ConfigError } from '../src/core/errors.js';
import { createLogger } from '../src/util/logger.js';

const empty: RunDueResult = { jobs: 0, done: 0, failed: 0, skipped: 0 };

describe('consolidation scheduler', () => {
  it('never runs two ticks at once: a tick during a run is skipped, not queued', async () => {
    let calls = 0;
    let active = 0;
    let maxActive = 0;
    let release!: () => void;
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    const signals: AbortSignal[] = [];
    const consolidator = {
      async runDue(options?: RunDueOptions): Promise<RunDueResult> {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        if (options?.signal) signals.push(options.signal);
        if (calls === 1) {
          firstStarted();
          await new Promise<void>((resolve) => (release = resolve));
        }
        active--;
        return empty;
      },
    };
    let overlapped!: () => void;
    const overlap = new Promise<void>((resolve) => (overlapped = resolve));
    let ranAgain!: () => void;
    const secondRun = new Promise<void>((resolve) => (ranAgain = resolve));
    let runs = 0;
    const scheduler = createConsolidationScheduler({
      consolidator,
      schedule: '* * * * * *', // every second
      timezone: 'UTC',
      logger: createLogger('test:schedule'),
      onOverlap: () => overlapped(),
      onRun: () => {
        runs++;
        if (runs === 2) ranAgain();
      },
    });
    const stop = scheduler.start();
    try {
      await started;
      await overlap; // at least one tick came while the first run was still going
      expect(calls).toBe(1);
      release();
      await secondRun;
      expect(maxActive).toBe(1);
      expect(signals[0]!.aborted).toBe(false);
    } finally {
      await stop();
    }
    const callsAtStop = calls;
    expect(callsAtStop).toBeGreaterThanOrEqual(2);
  }, 15_000);

  it('stop cancels the run in progress through its signal', async () => {
    let seen: AbortSignal | undefined;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const scheduler = createConsolidationScheduler({
      consolidator: {
        runDue: (options) =>
          new Promise<RunDueResult>((resolve) => {
            seen = options?.signal;
            started();
            options?.signal?.addEventListener('abort', () => resolve(empty));
          }),
      },
      schedule: '* * * * * *',
      logger: createLogger('test:schedule'),
    });
    scheduler.start();
    await running;
    await scheduler.stop();
    expect(seen?.aborted).toBe(true);
  }, 15_000);

  it('refuses an invalid schedule', () => {
    expect(() => createConsolidationScheduler({ consolidator: { runDue: async () => empty }, schedule: 'often' })).toThrow(ConfigError);
  });
});
