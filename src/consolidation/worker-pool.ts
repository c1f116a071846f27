/**
 * Runs due jobs scope by scope: each scope's jobs one after another in the order given (a portrait supersedes the one
 * before it, rolling summaries chain), scopes side by side, `concurrency` at a time. A kind that failed in a scope
 * (the model unreachable) holds back that scope's later jobs of the same kind until the next run, so its chain stays
 * in order; other kinds and other scopes go on. Once `signal` aborts, no further job starts.
 */
import type { JobKind, JobScope } from '../store/job-store.js';
import type { JobOutcome } from './job-runner.js';
import { jobScopeKey } from './job-scope.js';

export interface ScopePoolOptions<J> {
  readonly concurrency: number;
  readonly signal?: AbortSignal;
  readonly perform: (job: J) => Promise<JobOutcome>;
}

export async function runByScope<J extends JobScope & { readonly kind: JobKind }>(jobs: readonly J[], options: ScopePoolOptions<J>): Promise<void> {
  const { concurrency, signal, perform } = options;
  const queues = [...groupByScope(jobs).values()];
  let next = 0;

  async function worker(): Promise<void> {
    for (;;) {
      const queue = queues[next++];
      if (!queue) return;
      const stalled = new Set<JobKind>();
      for (const job of queue) {
        if (signal?.aborted) return;
        if (stalled.has(job.kind)) continue;
        if ((await perform(job)) === 'failed') stalled.add(job.kind);
      }
    }
  }

  await Promise.all(Array.from({ length: Math.min(concurrency, queues.length) }, () => worker()));
}

/** Jobs by scope, scopes in the order of their first job, each scope's jobs in the order given. */
function groupByScope<J extends JobScope>(jobs: readonly J[]): Map<string, J[]> {
  const queues = new Map<string, J[]>();
  for (const job of jobs) {
    const key = jobScopeKey(job);
    const queue = queues.get(key);
    if (queue) queue.push(job);
    else queues.set(key, [job]);
  }
  return queues;
}
