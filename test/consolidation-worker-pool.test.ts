/** The worker pool on its own: jobs are plain records, performing one is a few ticks with a scripted outcome. */
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { JobOutcome } from '../src/consolidation/job-runner.js';
import { runByScope } from '../src/consolidation/worker-pool.js';
import type { JobKind } from '../src/store/job-store.js';

interface TestJob {
  readonly name: string;
  readonly kind: JobKind;
  readonly userId: number;
  readonly characterId: string;
  readonly guildKey: string;
}

const job = (name: string, userId: number, kind: JobKind = 'summary'): TestJob => ({ name, kind, userId, characterId: 'juniper', guildKey: '' });

/** Performs jobs a few ticks each, recording the order they start in and how many run at once. */
function recorder(outcomes: Record<string, JobOutcome> = {}) {
  const started: string[] = [];
  const active = new Map<number, number>();
  let running = 0;
  let mostAtOnce = 0;
  let mostInOneScope = 0;
  return {
    started,
    get mostAtOnce() {
      return mostAtOnce;
    },
    get mostInOneScope() {
      return mostInOneScope;
    },
    async perform(item: TestJob): Promise<JobOutcome> {
      started.push(item.name);
      mostAtOnce = Math.max(mostAtOnce, ++running);
      active.set(item.userId, (active.get(item.userId) ?? 0) + 1);
      mostInOneScope = Math.max(mostInOneScope, active.get(item.userId)!);
      for (let index = 0; index < 3; index++) await tick();
      active.set(item.userId, active.get(item.userId)! - 1);
      running--;
      return outcomes[item.name] ?? 'done';
    },
  };
}

describe('the consolidation worker pool', () => {
  const jobs = [job('a1', 1), job('b1', 2), job('a2', 1, 'portrait'), job('c1', 3), job('a3', 1), job('b2', 2)];

  it('runs scopes side by side, concurrency at a time, and one scope’s jobs one after another in order', async () => {
    const run = recorder();
    await runByScope(jobs, { concurrency: 2, perform: run.perform });
    expect(run.mostAtOnce).toBe(2);
    expect(run.mostInOneScope).toBe(1);
    expect(run.started.filter((name) => name.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(run.started.filter((name) => name.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(run.started.slice(0, 2)).toEqual(['a1', 'b1']); // both scopes began before either finished a job

    const wide = recorder();
    await runByScope(jobs, { concurrency: 8, perform: wide.perform });
    expect(wide.mostAtOnce).toBe(3); // one worker per scope, never two in one scope
    expect(wide.mostInOneScope).toBe(1);

    const single = recorder();
    await runByScope(jobs, { concurrency: 1, perform: single.perform });
    expect(single.started).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c1']); // scopes in the order of their first job
  });

  it('holds back a failed kind in its scope for the rest of the run; other kinds and scopes go on', async () => {
    const run = recorder({ a1: 'failed', b1: 'skipped' });
    await runByScope(jobs, { concurrency: 2, perform: run.perform });
    expect(run.started).not.toContain('a3'); // a summary after a failed summary would break the chain
    expect(run.started).toEqual(expect.arrayContaining(['a2', 'b2', 'c1'])); // a given-up job stalls nothing
  });

  it('starts no job once the signal aborts', async () => {
    const controller = new AbortController();
    const run = recorder();
    await runByScope(jobs, {
      concurrency: 2,
      signal: controller.signal,
      perform: async (item) => {
        if (item.name === 'b1') controller.abort();
        return run.perform(item);
      },
    });
    expect(run.started).toEqual(['a1', 'b1']);
  });
});
