/**
 * Memory consolidation (MemoryBank's daily summaries and portrait, DigitalLife's self-concept at session close,
 * recursive rolling summaries, the forgetting curve), run as jobs that survive crashes.
 *
 * A run: take back jobs of dead processes → plan jobs for newly closed sessions (and one forgetting pass per scope
 * per day) → run what is due, oldest first. One scope's jobs run one after another (a portrait supersedes the one
 * before it); scopes run side by side, `concurrency` at a time, under a requests-per-minute limit.
 *
 * Each job: claim it (state 'running', owned by this process), ask the LLM for JSON (a malformed answer is retried
 * with a note of what was wrong, up to maxAttempts tries in all), embed, then ONE transaction writes its memories,
 * supersedes what they replace and marks the job done. A kill -9 anywhere leaves either all of that or none of it.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { z } from 'zod';
import type { Character } from '../characters/character.js';
import type { Clock } from '../core/clock.js';
import { OmoideError } from '../core/errors.js';
import type { ChatMessage, ChatModel } from '../llm/types.js';
import { dayInTimeZone } from '../memory/date-query.js';
import { daysBetween, retention } from '../memory/forgetting.js';
import type { Memory, MemoryDraft, PreparedWrite } from '../memory/memory.js';
import { guildKeyOf, scopeKeys, type MemoryScopeKey } from '../memory/scope-keys.js';
import type { MemorySettings } from '../memory/settings.js';
import type { ConversationStore, ScopeMessage } from '../store/conversation-store.js';
import type { SqliteDatabase } from '../store/db.js';
import { JobStore, type JobKind, type JobRecord, type JobScope, type JobState } from '../store/job-store.js';
import type { MemoryRecord } from '../store/memory-store.js';
import { createLogger, type Logger } from '../util/logger.js';
import {
  MalformedAnswerError,
  parseAnswer,
  portraitAnswerSchema,
  portraitPrompt,
  promptLanguage,
  repairMessage,
  rollingAnswerSchema,
  rollingPrompt,
  selfConceptAnswerSchema,
  selfConceptPrompt,
  summaryAnswerSchema,
  summaryPrompt,
  type DialogueContext,
  type PromptLanguage,
} from './prompts.js';
import { createRateLimiter } from './rate-limit.js';
import { planRollingJobs, planSessionJobs, splitSessions } from './sessions.js';
import type { ConsolidationSettings } from './settings.js';

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

/** Owners of running jobs in this process, across consolidator instances: anything else from our pid is dead. */
const liveOwners = new Set<string>();
const thisHost = hostname();

function ownerIsAlive(owner: string | null): boolean {
  if (owner === null) return false;
  if (liveOwners.has(owner)) return true;
  const [host, pidText] = owner.split('/');
  const pid = Number(pidText);
  // A job held by another machine (a database file copied over) can only be an orphan here.
  if (host !== thisHost || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Outcome = 'done' | 'failed' | 'skipped' | 'released';

const hourMs = 3_600_000;
const forgettableKinds = new Set(['turn', 'event', 'fact', 'daily_summary']);

export function createConsolidator(options: ConsolidatorOptions): Consolidator {
  const { db, memory, store, chatModel, characters, settings, memorySettings, clock } = options;
  const logger = options.logger ?? createLogger('jobs:consolidate');
  const jobs = new JobStore(db);
  const limiter = createRateLimiter(settings.requestsPerMinute);
  const idleMs = settings.sessionIdleHours * hourMs;
  const timeZone = memorySettings.timezone;
  const global = memorySettings.scope === 'global';
  let queue: Promise<unknown> = Promise.resolve();

  const guildKey = (guildId: string | null): string => guildKeyOf(memorySettings.scope, guildId);
  const memoryScopeOf = (scope: JobScope): MemoryScopeKey => ({
    userId: scope.userId, characterId: scope.characterId, guildId: scope.guildKey === '' ? null : scope.guildKey,
  });
  const dialogueScopeOf = (scope: JobScope) => scopeKeys(memorySettings.scope, memoryScopeOf(scope)).dialogue;
  const scopeKey = (scope: JobScope) => `${scope.userId}\u0000${scope.characterId}\u0000${scope.guildKey}`;

  function matches(scope: JobScope, run: RunDueOptions): boolean {
    if (run.userId !== undefined && scope.userId !== run.userId) return false;
    if (run.characterId !== undefined && scope.characterId !== run.characterId) return false;
    if (run.guildId !== undefined && !global && scope.guildKey !== guildKey(run.guildId)) return false;
    return true;
  }

  // ---- planning ----

  function plan(run: RunDueOptions, now: number): number {
    let planned = 0;
    const scopes = new Map<string, JobScope & { lastMessageId: number }>();
    for (const activity of store.dialogueScopesWithMessagesAfter(0)) {
      const scope = { userId: activity.userId, characterId: activity.characterId, guildKey: guildKey(activity.guildId) };
      if (!matches(scope, run)) continue;
      const key = scopeKey(scope);
      const known = scopes.get(key);
      scopes.set(key, { ...scope, lastMessageId: Math.max(known?.lastMessageId ?? 0, activity.lastMessageId) });
    }
    for (const { lastMessageId, ...scope } of scopes.values()) {
      const cursor = jobs.cursor(scope);
      if (lastMessageId <= cursor.plannedThrough && lastMessageId <= cursor.rolledThrough) continue;
      const messages = store.dialogueOfScope(dialogueScopeOf(scope), Math.min(cursor.plannedThrough, cursor.rolledThrough));
      if (lastMessageId > cursor.plannedThrough) {
        const unplanned = messages.filter((message) => message.id > cursor.plannedThrough);
        const sessionPlan = planSessionJobs(scope, splitSessions(unplanned, idleMs, now), cursor.plannedThrough, timeZone);
        if (sessionPlan.plannedThrough > cursor.plannedThrough) {
          planned += jobs.planThrough(scope, sessionPlan.jobs, sessionPlan.plannedThrough, now);
        }
      }
      if (lastMessageId > cursor.rolledThrough) {
        const unrolled = messages.filter((message) => message.id > cursor.rolledThrough);
        const rollingPlan = planRollingJobs(scope, unrolled, cursor, idleMs, settings.rollingSummaryTokens, now);
        if (rollingPlan.cursor.rolledThrough > cursor.rolledThrough || rollingPlan.jobs.length > 0) {
          planned += jobs.planRolling(scope, rollingPlan.jobs, rollingPlan.cursor, now);
        }
      }
    }
    // One forgetting pass per scope per (memory-timezone) day.
    const today = dayInTimeZone(now, timeZone);
    const forgetJobs = jobs
      .memoryScopes()
      .filter((scope) => matches(scope, run))
      .map((scope) => ({
        ...scope, kind: 'forget' as const, unit: `d${today}`, day: today, sessionStartId: null,
        fromMessageId: null, toMessageId: null, dueAt: now,
      }));
    planned += jobs.plan(forgetJobs, now);
    return planned;
  }

  // ---- asking the model ----

  async function ask<T>(
    job: JobRecord,
    owner: string,
    schema: z.ZodType<T>,
    prompt: ChatMessage[],
    language: PromptLanguage,
    tries: { used: number },
    signal: AbortSignal | undefined,
  ): Promise<T> {
    let messages = prompt;
    let lastProblem: MalformedAnswerError | null = null;
    while (tries.used < settings.maxAttempts) {
      await limiter.acquire(signal);
      tries.used++;
      jobs.recordAttempt(job.id, owner);
      const result = await chatModel.generate({ messages, json: true, temperature: 0.3, ...(signal ? { signal } : {}) });
      try {
        return parseAnswer(schema, result.text);
      } catch (error) {
        if (!(error instanceof MalformedAnswerError)) throw error;
        lastProblem = error;
        logger.warn('the model answered malformed JSON; asking again', { job: job.id, kind: job.kind, problem: error.message });
        jobs.noteError(job.id, owner, error.message);
        messages = [...prompt, { role: 'assistant', content: result.text }, repairMessage(language, error.message)];
      }
    }
    throw lastProblem ?? new MalformedAnswerError(`no tries left (${settings.maxAttempts})`, '');
  }

  // ---- building inputs ----

  const timeFormat = new Intl.DateTimeFormat('en-CA', {
    timeZone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });
  function stamp(at: number): string {
    const parts = Object.fromEntries(timeFormat.formatToParts(at).map((part) => [part.type, part.value]));
    return `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
  }

  /** Dialogue lines within the token budget, keeping the end. */
  function dialogueContext(messages: readonly ScopeMessage[], character: Character): DialogueContext {
    const lines: string[] = [];
    let tokens = 0;
    let truncated = false;
    for (let index = messages.length - 1; index >= 0; index--) {
      const message = messages[index]!;
      const cost = message.tokenCount + 8;
      if (lines.length > 0 && tokens + cost > settings.maxDialogueTokens) {
        truncated = true;
        break;
      }
      tokens += cost;
      lines.push(`[${stamp(message.createdAt)}] ${message.speakerName}: ${message.content.replace(/\s*\n\s*/g, ' ')}`);
    }
    const userName = [...messages].reverse().find((message) => message.role === 'user')?.speakerName ?? 'user';
    return {
      language: promptLanguage(character.language),
      characterName: character.name,
      userName,
      dialogue: lines.reverse().join('\n'),
      truncated,
    };
  }

  /** A memory that is still the current version (not superseded, not forgotten), or null. */
  function current(id: number | undefined): MemoryRecord | null {
    if (id === undefined) return null;
    const record = memory.get(id);
    return record && record.supersededBy === null && record.forgottenAt === null ? record : null;
  }

  function latestOfKind(scope: JobScope, kind: 'portrait' | 'self_concept'): MemoryRecord | null {
    return memory.latestOfKind(memoryScopeOf(scope), kind);
  }

  function jobMessages(job: JobRecord): ScopeMessage[] {
    const messages = store.dialogueOfScope(dialogueScopeOf(job), (job.fromMessageId ?? 1) - 1, job.toMessageId ?? undefined);
    return job.kind === 'summary' && job.day !== null
      ? messages.filter((message) => dayInTimeZone(message.createdAt, timeZone) === job.day)
      : messages;
  }

  /** Embeds outside the transaction, then writes the memories and marks the job done in one. */
  async function commit(job: JobRecord, owner: string, drafts: readonly (MemoryDraft & { supersedes?: number })[], forgetIds: readonly number[] = []): Promise<void> {
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
  }

  // ---- the jobs ----

  async function performSummary(job: JobRecord, owner: string, character: Character, tries: { used: number }, signal?: AbortSignal): Promise<void> {
    const messages = jobMessages(job);
    if (messages.length === 0) return commit(job, owner, []);
    const context = dialogueContext(messages, character);
    const knownFacts = memory.listForUser(memoryScopeOf(job), { kinds: ['fact'], limit: 60 });
    const earlier = current(jobs.latestDoneOfDay('summary', job, job.day ?? '', job.id)?.resultMemoryIds[0]);
    const rolling = context.truncated && job.sessionStartId !== null
      ? current(jobs.latestDoneInSession('rolling', job, job.sessionStartId, (job.toMessageId ?? 0) + 1)?.resultMemoryIds[0])
      : null;
    const prompt = summaryPrompt({
      ...context,
      day: job.day ?? dayInTimeZone(messages[0]!.createdAt, timeZone),
      knownFacts: knownFacts.map((fact) => ({ id: fact.id, content: fact.content })),
      earlierSummary: earlier?.content ?? null,
      rollingSummary: rolling?.content ?? null,
    });
    const answer = await ask(job, owner, summaryAnswerSchema, prompt, context.language, tries, signal);
    const at = messages.at(-1)!.createdAt;
    const sources = messages.map((message) => message.id);
    const offered = new Set(knownFacts.map((fact) => fact.id));
    const replaced = new Set<number>();
    const drafts: (MemoryDraft & { supersedes?: number })[] = [
      { kind: 'daily_summary', content: answer.summary, occurredAt: at, importance: 0.6, sourceMessageIds: sources, ...(earlier ? { supersedes: earlier.id } : {}) },
      ...answer.events.map((event) => ({ kind: 'event' as const, content: event.content, occurredAt: at, importance: event.importance ?? 0.5, sourceMessageIds: sources })),
      ...answer.facts.map((fact) => {
        // Only a fact we offered, still current, and not already replaced by another new fact of this answer.
        const target = fact.replaces.find((id) => offered.has(id) && !replaced.has(id) && current(id) !== null);
        const ignored = fact.replaces.filter((id) => id !== target);
        if (ignored.length > 0) logger.debug('fact replacement ids ignored', { job: job.id, ignored });
        if (target !== undefined) replaced.add(target);
        return {
          kind: 'fact' as const, content: fact.content, occurredAt: at, importance: fact.importance ?? 0.6, sourceMessageIds: sources,
          ...(target !== undefined ? { supersedes: target } : {}),
        };
      }),
    ];
    await commit(job, owner, drafts);
  }

  async function performPortrait(job: JobRecord, owner: string, character: Character, tries: { used: number }, signal?: AbortSignal): Promise<void> {
    const kind = job.kind === 'portrait' ? 'portrait' : 'self_concept';
    const messages = jobMessages(job);
    if (messages.length === 0) return commit(job, owner, []);
    const context = dialogueContext(messages, character);
    const previous = latestOfKind(job, kind);
    const input = { ...context, previous: previous?.content ?? null };
    const content =
      kind === 'portrait'
        ? (await ask(job, owner, portraitAnswerSchema, portraitPrompt(input), context.language, tries, signal)).portrait
        : (await ask(job, owner, selfConceptAnswerSchema, selfConceptPrompt(input), context.language, tries, signal)).selfConcept;
    await commit(job, owner, [
      {
        kind, content, occurredAt: messages.at(-1)!.createdAt, importance: 0.8,
        sourceMessageIds: [messages[0]!.id, messages.at(-1)!.id],
        ...(previous ? { supersedes: previous.id } : {}),
      },
    ]);
  }

  async function performRolling(job: JobRecord, owner: string, character: Character, tries: { used: number }, signal?: AbortSignal): Promise<void> {
    const messages = jobMessages(job);
    if (messages.length === 0) return commit(job, owner, []);
    const context = dialogueContext(messages, character);
    const previous = job.sessionStartId === null
      ? null
      : current(jobs.latestDoneInSession('rolling', job, job.sessionStartId, job.toMessageId ?? 0)?.resultMemoryIds[0]);
    const answer = await ask(job, owner, rollingAnswerSchema, rollingPrompt({ ...context, previous: previous?.content ?? null }), context.language, tries, signal);
    await commit(job, owner, [
      {
        kind: 'daily_summary', content: answer.summary, occurredAt: messages.at(-1)!.createdAt, importance: 0.5,
        sourceMessageIds: [messages[0]!.id, messages.at(-1)!.id],
        ...(previous ? { supersedes: previous.id } : {}),
      },
    ]);
  }

  async function performForget(job: JobRecord, owner: string): Promise<void> {
    const now = clock.now().getTime();
    const faded = memory
      .listForUser(memoryScopeOf(job))
      .filter((record) => forgettableKinds.has(record.kind))
      .filter((record) => {
        const c = memorySettings.decay[record.kind];
        return retention(daysBetween(record.lastRecalledAt ?? record.occurredAt, now), record.strength, c) < settings.forgetThreshold;
      })
      .map((record) => record.id);
    await commit(job, owner, [], faded);
  }

  async function runJob(job: JobRecord, owner: string, character: Character | undefined, signal?: AbortSignal): Promise<Outcome> {
    if (!jobs.claim(job.id, owner, clock.now().getTime(), settings.maxAttempts)) return 'released';
    const tries = { used: job.attempts };
    try {
      if (job.kind === 'forget') await performForget(job, owner);
      else if (!character) throw new OmoideError(`character "${job.characterId}" is not loaded`);
      else if (job.kind === 'summary') await performSummary(job, owner, character, tries, signal);
      else if (job.kind === 'rolling') await performRolling(job, owner, character, tries, signal);
      else await performPortrait(job, owner, character, tries, signal);
      return 'done';
    } catch (error) {
      const now = clock.now().getTime();
      if (signal?.aborted) {
        jobs.release(job.id, owner);
        return 'released';
      }
      const message = error instanceof Error ? error.message : String(error);
      const state = error instanceof MalformedAnswerError ? 'skipped' : 'failed';
      try {
        jobs.finish(job.id, owner, state, message, [], now);
      } catch (finishError) {
        logger.warn('could not record the outcome of a job', { job: job.id, error: finishError });
      }
      const fields = { job: job.id, kind: job.kind, user: job.userId, character: job.characterId, tries: tries.used, error: message };
      if (state === 'skipped') logger.warn('consolidation job skipped: the model kept answering malformed JSON', fields);
      else logger.error('consolidation job failed', fields);
      return state;
    }
  }

  // ---- a run ----

  async function run(runOptions: RunDueOptions): Promise<RunDueResult> {
    const { signal, onProgress } = runOptions;
    const now = clock.now().getTime();
    const reclaimed = jobs.reclaimOrphans(ownerIsAlive, settings.maxAttempts, now);
    if (reclaimed > 0) logger.info('took back jobs of a process that stopped', { jobs: reclaimed });
    const filter = {
      ...(runOptions.userId !== undefined ? { userId: runOptions.userId } : {}),
      ...(runOptions.characterId !== undefined ? { characterId: runOptions.characterId } : {}),
      ...(runOptions.guildId !== undefined && !global ? { guildKey: guildKey(runOptions.guildId) } : {}),
    };
    if (runOptions.retryFailed) jobs.retryFailed(filter);
    const planned = plan(runOptions, now);

    const missing = new Set<string>();
    const queues = new Map<string, JobRecord[]>();
    for (const job of jobs.eligible(settings.maxAttempts, filter)) {
      if (job.kind !== 'forget' && !characters.get(job.characterId)) {
        missing.add(job.characterId);
        continue;
      }
      const key = scopeKey(job);
      const list = queues.get(key) ?? [];
      list.push(job);
      queues.set(key, list);
    }
    if (missing.size > 0) logger.warn('jobs wait for characters that are not loaded', { characters: [...missing] });
    const scopeQueues = [...queues.values()];
    const total = scopeQueues.reduce((sum, list) => sum + list.length, 0);
    const owner = `${thisHost}/${process.pid}/${randomUUID()}`;
    const counts = { jobs: 0, done: 0, failed: 0, skipped: 0 };
    let finished = 0;
    let next = 0;

    async function worker(): Promise<void> {
      for (;;) {
        const list = scopeQueues[next++];
        if (!list) return;
        // A kind that failed (model unreachable) waits for the next run, so its chain stays in order.
        const stalled = new Set<JobKind>();
        for (const job of list) {
          if (signal?.aborted) return;
          if (stalled.has(job.kind)) continue;
          const outcome = await runJob(job, owner, characters.get(job.characterId), signal);
          if (outcome === 'released') continue;
          counts.jobs++;
          counts[outcome]++;
          if (outcome === 'failed') stalled.add(job.kind);
          finished++;
          onProgress?.({ done: finished, total, job: { id: job.id, kind: job.kind, userId: job.userId, characterId: job.characterId, state: outcome } });
        }
      }
    }

    liveOwners.add(owner);
    try {
      await Promise.all(Array.from({ length: Math.min(settings.concurrency, scopeQueues.length) }, () => worker()));
    } finally {
      liveOwners.delete(owner);
    }
    if (planned > 0 || counts.jobs > 0) logger.info('consolidation run finished', { planned, ...counts });
    return counts;
  }

  return {
    runDue(runOptions = {}) {
      const result = queue.then(() => run(runOptions));
      queue = result.catch(() => undefined);
      return result;
    },
    counts: () => jobs.counts(),
  };
}
