/**
 * The end of every successful job: embed its memories first (slow, outside any transaction), then ONE transaction
 * writes them, supersedes what they replace, marks forgotten what faded, and marks the job done. JobStore.finish
 * throws inside that transaction when the job is no longer ours, rolling the writes back: a kill -9 or a lost claim
 * leaves either all of a job's results or none of them.
 */
import type { Clock } from '../core/clock.js';
import type { Memory, MemoryDraft, PreparedWrite } from '../memory/memory.js';
import type { SqliteDatabase } from '../store/db.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import { memoryScopeOf } from './job-scope.js';

/** A memory a job writes, and the one it replaces (a newer portrait, an updated fact). */
export type JobDraft = MemoryDraft & { readonly supersedes?: number };

export interface JobResult {
  readonly drafts: readonly JobDraft[];
  /** memories to mark forgotten (restorable, never deleted) */
  readonly forgetIds?: readonly number[];
}

export type JobCommitter = (job: JobRecord, owner: string, result: JobResult) => Promise<void>;

export function createJobCommitter(options: { db: SqliteDatabase; memory: Memory; jobs: JobStore; clock: Clock }): JobCommitter {
  const { db, memory, jobs, clock } = options;
  return async (job, owner, { drafts, forgetIds = [] }) => {
    const prepared = await memory.prepareMany(drafts);
    const scope = memoryScopeOf(job);
    const entries: PreparedWrite[] = prepared.map((memoryItem, index) => {
      const supersedes = drafts[index]!.supersedes;
      return supersedes === undefined ? { scope, memory: memoryItem } : { scope, memory: memoryItem, supersedes };
    });
    const now = clock.now().getTime();
    db.transaction(() => {
      const records = memory.writePrepared(entries);
      if (forgetIds.length > 0) memory.setForgotten(forgetIds, now);
      jobs.finish(job.id, owner, 'done', null, [...records.map((record) => record.id), ...forgetIds], now);
    })();
  };
}
