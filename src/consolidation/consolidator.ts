/**
 * Memory consolidation (MemoryBank's daily summaries and portrait, DigitalLife's self-concept at session close,
 * recursive rolling summaries, the forgetting curve), run as jobs that survive crashes.
 *
 * A run: take back jobs of dead processes (liveness.ts) → plan jobs for newly closed sessions, long sessions and the
 * day's forgetting pass (planner.ts) → run what is due, oldest first, scope by scope under a requests-per-minute
 * limit (worker-pool.ts). Each job (job-runner.ts) is claimed, performed by its kind's spec (jobs/), asks the model
 * through the JSON repair loop (ask-json.ts), and ends in ONE transaction that writes its memories and marks it done
 * (commit-job.ts): a kill -9 anywhere leaves either all of that or none of it.
 */
import type { Character } from '../characters/character.js';
import type { Clock } from '../core/clock.js';
import type { ChatModel } from '../llm/types.js';
import type { Memory } from '../memory/memory.js';
import type { MemorySettings } from '../memory/settings.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { SqliteDatabase } from '../store/db.js';
import { JobStore, type JobFilter, type JobKind, type JobRecord, type JobState } from '../store/job-store.js';
import { createKeyedQueue } from '../util/keyed-queue.js';
import { createLogger, type Logger } from '../util/logger.js';
import { createJobRunner } from './job-runner.js';
import { jobFilterOf } from './job-scope.js';
import { specOf } from './jobs/job-specs.js';
import { asLiveOwner, ownerIsAlive } from './liveness.js';
import { createPlanner } from './planner.js';
import { createRateLimiter } from './rate-limit.js';
import type { ConsolidationSettings } from './settings.js';
import { runByScope } from './worker-pool.js';

export interface ConsolidatorOptions {
  readonly db: SqliteDatabase;
  readonly memory: Memory;
  readonly store: ConversationStore;
  readonly chatModel: ChatModel;
  /** names and languages of the characters (a CharacterCatalog) */
  readonly characters: { get(id: string): Character | undefined };
  /** parsed consolidationSettingsSchema output */
  readonly settings: ConsolidationSettings;
  /** parsed memorySettingsSchema output: the memory timezone (days), scope mode and decay constants */
  readonly memorySettings: MemorySettings;
  readonly clock: Clock;
  readonly logger?: Logger;
}

export interface ConsolidationProgress {
  /** jobs finished in this run (any outcome) */
  readonly done: number;
  /** jobs this run set out to do */
  readonly total: number;
  readonly job: { readonly id: number; readonly kind: JobKind; readonly userId: number; readonly characterId: string; readonly state: JobState };
}

export interface RunDueOptions {
  readonly userId?: number;
  readonly characterId?: string;
  /** a guild id, or null for DMs and the terminal; ignored when memory is global */
  readonly guildId?: string | null;
  /** give failed and skipped jobs a fresh set of tries first */
  readonly retryFailed?: boolean;
  readonly onProgress?: (progress: ConsolidationProgress) => void;
  /** stops claiming jobs; in-flight LLM calls are cancelled and their jobs handed back untouched */
  readonly signal?: AbortSignal;
}

export interface RunDueResult {
  /** jobs this run took on */
  readonly jobs: number;
  readonly done: number;
  /** the model was unreachable or errored (retried by a later run while tries are left) */
  readonly failed: number;
  /** the model kept answering malformed JSON: given up, nothing stored */
  readonly skipped: number;
}

export interface Consolidator {
  /** Plans what newly closed sessions call for, then runs every due job. Concurrent calls run one after another. */
  runDue(options?: RunDueOptions): Promise<RunDueResult>;
  /** How many jobs are in each state. */
  counts(): Record<JobState, number>;
}

export function createConsolidator(options: ConsolidatorOptions): Consolidator {
  const { db, memory, store, chatModel, characters, settings, memorySettings, clock } = options;
  const logger = options.logger ?? createLogger('jobs:consolidate');
  const jobs = new JobStore(db);
  const planner = createPlanner({ store, jobs, settings, memorySettings });
  const runJob = createJobRunner({
    db, memory, store, jobs, chatModel, characters, settings, memorySettings, clock, logger,
    limiter: createRateLimiter(settings.requestsPerMinute),
  });
  // One run at a time: runs side by side would plan the same sessions and compete for the same jobs.
  const runs = createKeyedQueue();

  /** Due jobs, oldest first, less those whose character is not loaded: they wait, pending, for a later run. */
  function dueJobs(filter: JobFilter): JobRecord[] {
    const missing = new Set<string>();
    const due = jobs.eligible(settings.maxAttempts, filter).filter((job) => {
      const waits = specOf(job).needsCharacter && !characters.get(job.characterId);
      if (waits) missing.add(job.characterId);
      return !waits;
    });
    if (missing.size > 0) logger.warn('jobs wait for characters that are not loaded', { characters: [...missing] });
    return due;
  }

  async function run(runOptions: RunDueOptions): Promise<RunDueResult> {
    const { signal, onProgress } = runOptions;
    const now = clock.now().getTime();
    const reclaimed = jobs.reclaimOrphans(ownerIsAlive, settings.maxAttempts, now);
    if (reclaimed > 0) logger.info('took back jobs of a process that stopped', { jobs: reclaimed });
    const filter = jobFilterOf(memorySettings.scope, runOptions);
    if (runOptions.retryFailed) jobs.retryFailed(filter);
    const planned = planner.plan(filter, now);

    const due = dueJobs(filter);
    const counts = { jobs: 0, done: 0, failed: 0, skipped: 0 };
    await asLiveOwner((owner) =>
      runByScope(due, {
        concurrency: settings.concurrency,
        signal,
        async perform(job) {
          const outcome = await runJob(job, owner, signal);
          if (outcome === 'released') return outcome;
          counts.jobs++;
          counts[outcome]++;
          onProgress?.({ done: counts.jobs, total: due.length, job: { id: job.id, kind: job.kind, userId: job.userId, characterId: job.characterId, state: outcome } });
          return outcome;
        },
      }),
    );
    if (planned > 0 || counts.jobs > 0) logger.info('consolidation run finished', { planned, ...counts });
    return counts;
  }

  return {
    runDue: (runOptions = {}) => runs.run('runDue', () => run(runOptions)),
    counts: () => jobs.counts(),
  };
}
