/**
 * Sessions from message timestamps, and the jobs they call for. Pure functions: the consolidator feeds them a scope's
 * new dialogue and its cursor, and stores what they return.
 *
 * A session is a run of messages with no gap of `idleMs` or more; it is closed once `now` is `idleMs` past its last
 * message. Only platform timestamps decide this, so a restart (or a bot that was offline for days) changes nothing.
 * Job units are named after message ids, so planning the same messages twice names the same units.
 */
import { dayInTimeZone } from '../memory/date-query.js';
import type { ScopeMessage } from '../store/conversation-store.js';
import type { JobScope, NewJob } from '../store/job-store.js';

export interface Session {
  /** the first message's id: the session's name */
  readonly startId: number;
  readonly minId: number;
  readonly maxId: number;
  readonly startAt: number;
  readonly endAt: number;
  readonly closed: boolean;
  readonly messages: readonly ScopeMessage[];
}

/** Splits time-ordered messages into sessions at every gap of `idleMs` or more. */
export function splitSessions(messages: readonly ScopeMessage[], idleMs: number, now: number): Session[] {
  const sessions: Session[] = [];
  let current: ScopeMessage[] = [];
  const close = (closed: boolean) => {
    if (current.length === 0) return;
    const ids = current.map((message) => message.id);
    sessions.push({
      startId: current[0]!.id,
      minId: Math.min(...ids),
      maxId: Math.max(...ids),
      startAt: current[0]!.createdAt,
      endAt: current.at(-1)!.createdAt,
      closed,
      messages: current,
    });
    current = [];
  };
  for (const message of messages) {
    const previous = current.at(-1);
    if (previous && message.createdAt - previous.createdAt >= idleMs) close(true);
    current.push(message);
  }
  const last = current.at(-1);
  close(last !== undefined && now - last.createdAt >= idleMs);
  return sessions;
}

export interface SessionPlan {
  readonly jobs: NewJob[];
  /** the planning cursor after these jobs: every message up to it is in a planned session */
  readonly plannedThrough: number;
}

/**
 * Jobs for the closed sessions among a scope's unplanned messages: a summary per day of each session, and a
 * portrait and a self-concept per session. The cursor never passes a message of a session still open.
 */
export function planSessionJobs(scope: JobScope, sessions: readonly Session[], plannedThrough: number, timeZone: string): SessionPlan {
  const jobs: NewJob[] = [];
  let through = plannedThrough;
  const open = sessions.filter((session) => !session.closed);
  const firstOpenId = open.length > 0 ? Math.min(...open.map((session) => session.minId)) : Number.POSITIVE_INFINITY;
  for (const session of sessions) {
    if (!session.closed) continue;
    const name = `s${session.startId}-${session.maxId}`;
    const byDay = new Map<string, ScopeMessage[]>();
    for (const message of session.messages) {
      const day = dayInTimeZone(message.createdAt, timeZone);
      const list = byDay.get(day) ?? [];
      list.push(message);
      byDay.set(day, list);
    }
    for (const [day, messages] of byDay) {
      jobs.push({
        ...scope, kind: 'summary', unit: `${name}:${day}`, day, sessionStartId: session.startId,
        fromMessageId: session.minId, toMessageId: session.maxId, dueAt: messages.at(-1)!.createdAt,
      });
    }
    for (const kind of ['portrait', 'self_concept'] as const) {
      jobs.push({
        ...scope, kind, unit: name, day: null, sessionStartId: session.startId,
        fromMessageId: session.minId, toMessageId: session.maxId, dueAt: session.endAt,
      });
    }
    through = Math.max(through, session.maxId);
  }
  // Ids normally follow time; should an open session hold an older id, stop before it so it is planned later.
  if (through >= firstOpenId) through = Math.max(plannedThrough, firstOpenId - 1);
  return { jobs, plannedThrough: through };
}

export interface RollingCursor {
  readonly rolledThrough: number;
  readonly rolledSessionStart: number | null;
  readonly rolledAt: number | null;
}

export interface RollingPlan {
  readonly jobs: NewJob[];
  readonly cursor: { readonly rolledThrough: number; readonly sessionStart: number | null; readonly at: number | null };
}

/**
 * Rolling-summary jobs: each run of `thresholdTokens` dialogue tokens within one session is a chunk, summarized
 * together with the session's previous rolling summary (Wang et al.'s recursive summaries). A short tail stays for
 * later while its session is open, and is left to the daily summary once it closes.
 */
export function planRollingJobs(
  scope: JobScope,
  messages: readonly ScopeMessage[],
  cursor: RollingCursor,
  idleMs: number,
  thresholdTokens: number,
  now: number,
): RollingPlan {
  const jobs: NewJob[] = [];
  let consumed = { id: cursor.rolledThrough, at: cursor.rolledAt, sessionStart: cursor.rolledSessionStart };
  let previousAt = cursor.rolledAt;
  let sessionStart = cursor.rolledSessionStart;
  let chunk: ScopeMessage[] = [];
  let chunkTokens = 0;
  let last: ScopeMessage | null = null;
  for (const message of messages) {
    if (previousAt === null || message.createdAt - previousAt >= idleMs) {
      // A new session: the previous one closed, so its short tail is left to the daily summary.
      if (last) consumed = { id: Math.max(consumed.id, last.id), at: last.createdAt, sessionStart };
      chunk = [];
      chunkTokens = 0;
      sessionStart = message.id;
    }
    chunk.push(message);
    chunkTokens += message.tokenCount;
    if (chunkTokens >= thresholdTokens && sessionStart !== null) {
      const ids = chunk.map((item) => item.id);
      const maxId = Math.max(...ids);
      jobs.push({
        ...scope, kind: 'rolling', unit: `r${sessionStart}:${Math.min(...ids)}-${maxId}`, day: null,
        sessionStartId: sessionStart, fromMessageId: Math.min(...ids), toMessageId: maxId, dueAt: message.createdAt,
      });
      consumed = { id: Math.max(consumed.id, maxId), at: message.createdAt, sessionStart };
      chunk = [];
      chunkTokens = 0;
    }
    previousAt = message.createdAt;
    last = message;
  }
  if (last && chunk.length > 0 && now - last.createdAt >= idleMs) {
    consumed = { id: Math.max(consumed.id, last.id), at: last.createdAt, sessionStart };
  }
  return { jobs, cursor: { rolledThrough: consumed.id, sessionStart: consumed.sessionStart, at: consumed.at } };
}
