/**
 * One job, start to end: claim it for this run's owner, let its spec perform it with a context bound to the job,
 * commit the result, and record the outcome. A malformed answer after every try is 'skipped' (given up, nothing
 * stored); any other error is 'failed' (the next run retries while tries are left); a cancelled run hands the job
 * back untouched ('released'), as does a job someone else claimed first.
 */
import type { Character } from '../characters/character.js';
import type { Clock } from '../core/clock.js';
import { OmoideError } from '../core/errors.js';
import type { ChatModel } from '../llm/types.js';
import type { Memory } from '../memory/memory.js';
import type { MemorySettings } from '../memory/settings.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { SqliteDatabase } from '../store/db.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { Logger } from '../util/logger.js';
import { askJson, type JobTries } from './ask-json.js';
import { createJobCommitter } from './commit-job.js';
import { createDialogueFramer } from './dialogue-context.js';
import { dialogueScopeOf, memoryScopeOf } from './job-scope.js';
import type { JobContext } from './job-spec.js';
import { specOf } from './jobs/job-specs.js';
import { MalformedAnswerError } from './prompts.js';
import type { RateLimiter } from './rate-limit.js';
import type { ConsolidationSettings } from './settings.js';

export type JobOutcome = 'done' | 'failed' | 'skipped' | 'released';

export interface JobRunnerOptions {
  readonly db: SqliteDatabase;
  readonly memory: Memory;
  readonly store: ConversationStore;
  readonly jobs: JobStore;
  readonly chatModel: ChatModel;
  readonly limiter: RateLimiter;
  readonly characters: { get(id: string): Character | undefined };
  readonly settings: ConsolidationSettings;
  readonly memorySettings: MemorySettings;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type JobRunner = (job: JobRecord, owner: string, signal?: AbortSignal) => Promise<JobOutcome>;

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { memory, store, jobs, chatModel, limiter, characters, settings, memorySettings, clock, logger } = options;
  const commit = createJobCommitter(options);
  const frame = createDialogueFramer(memorySettings.timezone, settings.maxDialogueTokens);

  /** The job's tries in its row: counted before each request, the problem with a malformed answer kept. */
  function triesOf(job: JobRecord, owner: string): JobTries {
    let used = job.attempts;
    return {
      get used() {
        return used;
      },
      record() {
        used++;
        jobs.recordAttempt(job.id, owner);
      },
      noteProblem(problem) {
        logger.warn('the model answered malformed JSON; asking again', { job: job.id, kind: job.kind, problem });
        jobs.noteError(job.id, owner, problem);
      },
    };
  }

  function contextOf(job: JobRecord, tries: JobTries, signal: AbortSignal | undefined): JobContext {
    return {
      memory,
      memoryScope: memoryScopeOf(job),
      earlierJobs: jobs,
      settings,
      memorySettings,
      logger,
      now: () => clock.now().getTime(),
      dialogue(keep) {
        const character = characters.get(job.characterId);
        if (!character) throw new OmoideError(`character "${job.characterId}" is not loaded`);
        const range = store.dialogueOfScope(dialogueScopeOf(memorySettings.scope, job), (job.fromMessageId ?? 1) - 1, job.toMessageId ?? undefined);
        const messages = keep ? range.filter(keep) : range;
        return messages.length === 0 ? null : { messages, context: frame(messages, character) };
      },
      current(id) {
        if (id === undefined) return null;
        const record = memory.get(id);
        return record && record.supersededBy === null && record.forgottenAt === null ? record : null;
      },
      askJson: (question) => askJson(question, { chatModel, limiter, maxAttempts: settings.maxAttempts, tries, signal }),
    };
  }

  return async (job, owner, signal) => {
    if (!jobs.claim(job.id, owner, clock.now().getTime(), settings.maxAttempts)) return 'released';
    const tries = triesOf(job, owner);
    try {
      const result = await specOf(job).perform(job, contextOf(job, tries, signal));
      await commit(job, owner, result);
      return 'done';
    } catch (error) {
      if (signal?.aborted) {
        jobs.release(job.id, owner);
        return 'released';
      }
      const message = error instanceof Error ? error.message : String(error);
      const state = error instanceof MalformedAnswerError ? 'skipped' : 'failed';
      try {
        jobs.finish(job.id, owner, state, message, [], clock.now().getTime());
      } catch (finishError) {
        logger.warn('could not record the outcome of a job', { job: job.id, error: finishError });
      }
      const fields = { job: job.id, kind: job.kind, user: job.userId, character: job.characterId, tries: tries.used, error: message };
      if (state === 'skipped') logger.warn('consolidation job skipped: the model kept answering malformed JSON', fields);
      else logger.error('consolidation job failed', fields);
      return state;
    }
  };
}
