/**
 * Planning: which jobs newly arrived dialogue (and a new day) call for. Planning follows the cursors, not the job
 * kinds: closed sessions become summary, portrait and self-concept jobs in the same transaction that moves the
 * planning cursor; rolling chunks are planned under their own cursor; a forgetting pass is planned once per scope
 * per day. Each step writes its jobs and its cursor together, so a crash between steps loses nothing.
 */
import { dayInTimeZone } from '../memory/date-query.js';
import type { MemorySettings } from '../memory/settings.js';
import { guildKeyOf } from '../memory/scope-keys.js';
import type { ConversationStore, ScopeMessage } from '../store/conversation-store.js';
import type { JobFilter, JobScope, JobStore, NewJob, ScopeCursor } from '../store/job-store.js';
import { dialogueScopeOf, inFilter, jobScopeKey } from './job-scope.js';
import { planRollingJobs, planSessionJobs, splitSessions } from './sessions.js';
import type { ConsolidationSettings } from './settings.js';

export interface PlannerOptions {
  readonly store: ConversationStore;
  readonly jobs: JobStore;
  readonly settings: ConsolidationSettings;
  readonly memorySettings: MemorySettings;
}

export interface Planner {
  /** Plans the jobs due for the scopes in `filter` at `now`; returns how many are new. */
  plan(filter: JobFilter, now: number): number;
}

const hourMs = 3_600_000;

export function createPlanner(options: PlannerOptions): Planner {
  const { store, jobs, settings, memorySettings } = options;
  const idleMs = settings.sessionIdleHours * hourMs;
  const timeZone = memorySettings.timezone;

  /** Job scopes with dialogue, and their newest message. With global memory every guild's dialogue is one scope. */
  function talkingScopes(filter: JobFilter): (JobScope & { readonly lastMessageId: number })[] {
    const scopes = new Map<string, JobScope & { lastMessageId: number }>();
    for (const activity of store.dialogueScopesWithMessagesAfter(0)) {
      const scope = { userId: activity.userId, characterId: activity.characterId, guildKey: guildKeyOf(memorySettings.scope, activity.guildId) };
      if (!inFilter(scope, filter)) continue;
      const key = jobScopeKey(scope);
      const known = scopes.get(key);
      scopes.set(key, { ...scope, lastMessageId: Math.max(known?.lastMessageId ?? 0, activity.lastMessageId) });
    }
    return [...scopes.values()];
  }

  /** Summary, portrait and self-concept jobs for the sessions that closed, under the planning cursor. */
  function planClosedSessions(scope: JobScope, cursor: ScopeCursor, messages: readonly ScopeMessage[], now: number): number {
    const unplanned = messages.filter((message) => message.id > cursor.plannedThrough);
    const sessionPlan = planSessionJobs(scope, splitSessions(unplanned, idleMs, now), cursor.plannedThrough, timeZone);
    if (sessionPlan.plannedThrough <= cursor.plannedThrough) return 0;
    return jobs.planThrough(scope, sessionPlan.jobs, sessionPlan.plannedThrough, now);
  }

  /** Rolling-summary jobs for long sessions, under the rolling cursor. */
  function planRollingChunks(scope: JobScope, cursor: ScopeCursor, messages: readonly ScopeMessage[], now: number): number {
    const unrolled = messages.filter((message) => message.id > cursor.rolledThrough);
    const rollingPlan = planRollingJobs(scope, unrolled, cursor, idleMs, settings.rollingSummaryTokens, now);
    if (rollingPlan.cursor.rolledThrough <= cursor.rolledThrough && rollingPlan.jobs.length === 0) return 0;
    return jobs.planRolling(scope, rollingPlan.jobs, rollingPlan.cursor, now);
  }

  function planDialogue(filter: JobFilter, now: number): number {
    let planned = 0;
    for (const { lastMessageId, ...scope } of talkingScopes(filter)) {
      const cursor = jobs.cursor(scope);
      if (lastMessageId <= cursor.plannedThrough && lastMessageId <= cursor.rolledThrough) continue;
      // One read from the lower cursor serves both plans.
      const messages = store.dialogueOfScope(dialogueScopeOf(memorySettings.scope, scope), Math.min(cursor.plannedThrough, cursor.rolledThrough));
      if (lastMessageId > cursor.plannedThrough) planned += planClosedSessions(scope, cursor, messages, now);
      if (lastMessageId > cursor.rolledThrough) planned += planRollingChunks(scope, cursor, messages, now);
    }
    return planned;
  }

  /** One forgetting pass per scope with memories per (memory-timezone) day, whether or not it talked lately. */
  function planForgetting(filter: JobFilter, now: number): number {
    const today = dayInTimeZone(now, timeZone);
    const forgetJobs: NewJob[] = jobs
      .memoryScopes()
      .filter((scope) => inFilter(scope, filter))
      .map((scope) => ({
        ...scope, kind: 'forget', unit: `d${today}`, day: today, sessionStartId: null, fromMessageId: null, toMessageId: null, dueAt: now,
      }));
    return jobs.plan(forgetJobs, now);
  }

  return {
    plan: (filter, now) => planDialogue(filter, now) + planForgetting(filter, now),
  };
}
