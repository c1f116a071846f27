/**
 * What one kind of consolidation job is: a small spec the runner drives. The runner claims the job, hands `perform`
 * a context bound to that job, and commits what it returns (commit-job.ts); `perform` itself only reads and asks.
 */
import type { Memory } from '../memory/memory.js';
import type { MemoryScopeKey } from '../memory/scope-keys.js';
import type { MemorySettings } from '../memory/settings.js';
import type { ScopeMessage } from '../store/conversation-store.js';
import type { JobKind, JobRecord, JobStore } from '../store/job-store.js';
import type { MemoryRecord } from '../store/memory-store.js';
import type { Logger } from '../util/logger.js';
import type { JsonQuestion } from './ask-json.js';
import type { JobResult } from './commit-job.js';
import type { DialogueContext } from './prompts.js';
import type { ConsolidationSettings } from './settings.js';

/**
 * One job kind: how to perform it. There is deliberately no `plan` here: planning follows the cursors, not the kinds
 * (planner.ts). One move of the planning cursor must insert a closed session's summary, portrait and self-concept
 * jobs in the same transaction, so a per-kind plan would either split that transaction (a crash between kinds would
 * lose jobs) or have one kind's file plan the others'; rolling chunks have a cursor of their own, and forgetting is
 * simply once a day.
 */
export interface JobSpec<K extends JobKind = JobKind> {
  readonly kind: K;
  /** reads the dialogue as the character: such jobs wait while their character is not loaded */
  readonly needsCharacter: boolean;
  /** What the job stores. Throws to fail (tries left: the next run retries) or, with MalformedAnswerError, to give up. */
  perform(job: JobRecord & { readonly kind: K }, context: JobContext): Promise<JobResult>;
}

/** Every kind's spec, keyed by its kind. */
export type JobSpecs = { readonly [K in JobKind]: JobSpec<K> };

/** The job's dialogue, ready for a prompt. */
export interface JobDialogue {
  /** oldest first; never empty */
  readonly messages: readonly ScopeMessage[];
  readonly context: DialogueContext;
}

/** What `perform` may use, bound to its job. */
export interface JobContext {
  /** reads only: writes happen in the job's commit */
  readonly memory: Pick<Memory, 'get' | 'latestOfKind' | 'listForUser'>;
  /** the memory scope the job writes to */
  readonly memoryScope: MemoryScopeKey;
  /** done jobs whose results a job builds on (the session's rolling summary, the day's earlier summary) */
  readonly earlierJobs: Pick<JobStore, 'latestDoneInSession' | 'latestDoneOfDay'>;
  readonly settings: ConsolidationSettings;
  readonly memorySettings: MemorySettings;
  readonly logger: Logger;
  now(): number;
  /**
   * The messages of the job's range (those `keep` accepts) framed for a prompt; null when there are none (the
   * dialogue was erased). Throws when the character is not loaded.
   */
  dialogue(keep?: (message: ScopeMessage) => boolean): JobDialogue | null;
  /** A memory that is still the current version (not superseded, not forgotten), or null. */
  current(id: number | undefined): MemoryRecord | null;
  /** The model's validated JSON answer, through the repair loop and the rate limit, counting the job's tries. */
  askJson<T>(question: JsonQuestion<T>): Promise<T>;
}
