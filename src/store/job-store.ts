/**
 * Consolidation jobs and per-scope cursors: all their SQL. Statements are prepared once. Planning inserts with
 * INSERT OR IGNORE on the unit-of-work key, so replanning never duplicates; `finish` only moves a job its caller
 * still owns, so a transaction that commits a job's memories can check, inside itself, that nobody else did.
 */
import type { Statement } from 'better-sqlite3';
import { StoreError } from '../core/errors.js';
import type { SqliteDatabase } from './db.js';

export const jobKinds = ['summary', 'portrait', 'self_concept', 'rolling', 'forget'] as const;
export type JobKind = (typeof jobKinds)[number];
export type JobState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

/** (user, character, guild key): guild key '' in DMs and for every guild when memory is global. */
export interface JobScope {
  readonly userId: number;
  readonly characterId: string;
  readonly guildKey: string;
}

export interface NewJob extends JobScope {
  readonly kind: JobKind;
  readonly unit: string;
  readonly day: string | null;
  readonly sessionStartId: number | null;
  readonly fromMessageId: number | null;
  readonly toMessageId: number | null;
  readonly dueAt: number;
}

export interface JobRecord extends NewJob {
  readonly id: number;
  readonly state: JobState;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly owner: string | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly resultMemoryIds: readonly number[];
  readonly createdAt: number;
}

export interface ScopeCursor extends JobScope {
  readonly plannedThrough: number;
  readonly rolledThrough: number;
  readonly rolledSessionStart: number | null;
  readonly rolledAt: number | null;
}

export interface JobFilter {
  readonly userId?: number;
  readonly characterId?: string;
  readonly guildKey?: string;
}

interface JobRow {
  id: number;
  kind: JobKind;
  user_id: number;
  character_id: string;
  guild_key: string;
  unit: string;
  day: string | null;
  session_start_id: number | null;
  from_message_id: number | null;
  to_message_id: number | null;
  due_at: number;
  state: JobState;
  attempts: number;
  last_error: string | null;
  owner: string | null;
  started_at: number | null;
  finished_at: number | null;
  result_memory_ids: string;
  created_at: number;
}

interface CursorRow {
  user_id: number;
  character_id: string;
  guild_key: string;
  planned_through: number;
  rolled_through: number;
  rolled_session_start: number | null;
  rolled_at: number | null;
}

const jobColumns = `id, kind, user_id, character_id, guild_key, unit, day, session_start_id, from_message_id, to_message_id,
  due_at, state, attempts, last_error, owner, started_at, finished_at, result_memory_ids, created_at`;

function parseIds(json: string, id: number): number[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((value) => Number.isInteger(value))) {
    throw new StoreError(`consolidation job ${id}: result_memory_ids is not a list of memory ids`);
  }
  return parsed as number[];
}

function toJob(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    userId: row.user_id,
    characterId: row.character_id,
    guildKey: row.guild_key,
    unit: row.unit,
    day: row.day,
    sessionStartId: row.session_start_id,
    fromMessageId: row.from_message_id,
    toMessageId: row.to_message_id,
    dueAt: row.due_at,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    owner: row.owner,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    resultMemoryIds: parseIds(row.result_memory_ids, row.id),
    createdAt: row.created_at,
  };
}

/** last_error is for people reading the table: one line, bounded. */
function clip(error: string | null): string | null {
  return error === null ? null : error.replace(/\s+/g, ' ').slice(0, 1000);
}

export class JobStore {
  private readonly insertJobStatement;
  private readonly getJobStatement;
  private readonly claimStatement;
  private readonly attemptStatement;
  private readonly noteErrorStatement;
  private readonly finishStatement;
  private readonly releaseStatement;
  private readonly runningStatement;
  private readonly orphanStatement;
  private readonly eligibleStatement;
  private readonly retryFailedStatement;
  private readonly latestDoneStatement;
  private readonly latestDoneOfDayStatement;
  private readonly getCursorStatement;
  private readonly upsertPlannedStatement;
  private readonly upsertRolledStatement;
  private readonly countsStatement;
  private readonly memoryScopesStatement;
  // prepared on first use: only /memory forget-me needs them
  private deleteJobsStatement?: Statement<[number, string, string]>;
  private deleteCursorStatement?: Statement<[number, string, string]>;

  constructor(private readonly db: SqliteDatabase) {
    this.insertJobStatement = db.prepare(`
      INSERT INTO consolidation_jobs (kind, user_id, character_id, guild_key, unit, day, session_start_id, from_message_id,
                                      to_message_id, due_at, created_at)
      VALUES (@kind, @userId, @characterId, @guildKey, @unit, @day, @sessionStartId, @fromMessageId, @toMessageId, @dueAt, @createdAt)
      ON CONFLICT (kind, user_id, character_id, guild_key, unit) DO NOTHING`);
    this.getJobStatement = db.prepare<[number], JobRow>(`SELECT ${jobColumns} FROM consolidation_jobs WHERE id = ?`);
    this.claimStatement = db.prepare<[string, number, number, number]>(`
      UPDATE consolidation_jobs SET state = 'running', owner = ?, started_at = ?, finished_at = NULL
      WHERE id = ? AND (state = 'pending' OR (state = 'failed' AND attempts < ?))`);
    this.attemptStatement = db.prepare<[number, string]>(`
      UPDATE consolidation_jobs SET attempts = attempts + 1 WHERE id = ? AND owner = ? AND state = 'running'`);
    this.noteErrorStatement = db.prepare<[string | null, number, string]>(`
      UPDATE consolidation_jobs SET last_error = ? WHERE id = ? AND owner = ? AND state = 'running'`);
    this.finishStatement = db.prepare<[JobState, string | null, string, number, number, string]>(`
      UPDATE consolidation_jobs SET state = ?, last_error = ?, result_memory_ids = ?, finished_at = ?
      WHERE id = ? AND owner = ? AND state = 'running'`);
    this.releaseStatement = db.prepare<[number, string]>(`
      UPDATE consolidation_jobs SET state = 'pending', owner = NULL, started_at = NULL
      WHERE id = ? AND owner = ? AND state = 'running'`);
    this.runningStatement = db.prepare<[], { id: number; owner: string | null; attempts: number }>(
      `SELECT id, owner, attempts FROM consolidation_jobs WHERE state = 'running'`,
    );
    this.orphanStatement = db.prepare<[JobState, string, number, number, string | null]>(`
      UPDATE consolidation_jobs SET state = ?, last_error = ?, owner = NULL, finished_at = ?
      WHERE id = ? AND state = 'running' AND owner IS ?`);
    this.eligibleStatement = db.prepare<
      { maxAttempts: number; userId: number | null; characterId: string | null; guildKey: string | null },
      JobRow
    >(`
      SELECT ${jobColumns} FROM consolidation_jobs
      WHERE (state = 'pending' OR (state = 'failed' AND attempts < @maxAttempts))
        AND (@userId IS NULL OR user_id = @userId)
        AND (@characterId IS NULL OR character_id = @characterId)
        AND (@guildKey IS NULL OR guild_key = @guildKey)
      ORDER BY due_at, id`);
    this.retryFailedStatement = db.prepare<{ userId: number | null; characterId: string | null; guildKey: string | null }>(`
      UPDATE consolidation_jobs SET state = 'pending', attempts = 0, owner = NULL
      WHERE state IN ('failed', 'skipped')
        AND (@userId IS NULL OR user_id = @userId)
        AND (@characterId IS NULL OR character_id = @characterId)
        AND (@guildKey IS NULL OR guild_key = @guildKey)`);
    this.latestDoneStatement = db.prepare<[JobKind, number, string, string, number, number], JobRow>(`
      SELECT ${jobColumns} FROM consolidation_jobs
      WHERE kind = ? AND user_id = ? AND character_id = ? AND guild_key = ? AND session_start_id = ? AND state = 'done'
        AND to_message_id < ?
      ORDER BY to_message_id DESC LIMIT 1`);
    this.latestDoneOfDayStatement = db.prepare<[JobKind, number, string, string, string, number], JobRow>(`
      SELECT ${jobColumns} FROM consolidation_jobs
      WHERE kind = ? AND user_id = ? AND character_id = ? AND guild_key = ? AND day = ? AND state = 'done' AND id <> ?
      ORDER BY due_at DESC, id DESC LIMIT 1`);
    this.getCursorStatement = db.prepare<[number, string, string], CursorRow>(`
      SELECT user_id, character_id, guild_key, planned_through, rolled_through, rolled_session_start, rolled_at
      FROM consolidation_cursors WHERE user_id = ? AND character_id = ? AND guild_key = ?`);
    this.upsertPlannedStatement = db.prepare<[number, string, string, number, number]>(`
      INSERT INTO consolidation_cursors (user_id, character_id, guild_key, planned_through, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (user_id, character_id, guild_key) DO UPDATE SET
        planned_through = max(planned_through, excluded.planned_through), updated_at = excluded.updated_at`);
    this.upsertRolledStatement = db.prepare<[number, string, string, number, number | null, number | null, number]>(`
      INSERT INTO consolidation_cursors (user_id, character_id, guild_key, rolled_through, rolled_session_start, rolled_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (user_id, character_id, guild_key) DO UPDATE SET
        rolled_through = excluded.rolled_through, rolled_session_start = excluded.rolled_session_start,
        rolled_at = excluded.rolled_at, updated_at = excluded.updated_at
      WHERE excluded.rolled_through >= consolidation_cursors.rolled_through`);
    this.countsStatement = db.prepare<[], { state: JobState; n: number }>(
      `SELECT state, count(*) AS n FROM consolidation_jobs GROUP BY state`,
    );
    // The forgetting pass visits every scope that has memories, whether or not it talked lately.
    this.memoryScopesStatement = db.prepare<[], { user_id: number; character_id: string; guild_id: string }>(
      `SELECT user_id, character_id, guild_id FROM memory_scopes ORDER BY id`,
    );
  }

  /** Inserts the jobs that do not exist yet; returns how many were new. */
  plan(jobs: readonly NewJob[], now: number): number {
    if (jobs.length === 0) return 0;
    return this.db.transaction(() =>
      jobs.reduce((sum, job) => sum + this.insertJobStatement.run({ ...job, createdAt: now }).changes, 0),
    )();
  }

  get(id: number): JobRecord | null {
    const row = this.getJobStatement.get(id);
    return row ? toJob(row) : null;
  }

  /** Pending jobs, and failed ones with tries left, oldest first. */
  eligible(maxAttempts: number, filter: JobFilter = {}): JobRecord[] {
    return this.eligibleStatement
      .all({
        maxAttempts,
        userId: filter.userId ?? null,
        characterId: filter.characterId ?? null,
        guildKey: filter.guildKey ?? null,
      })
      .map(toJob);
  }

  /** Gives failed and skipped jobs a fresh set of tries (e.g. after fixing the model); returns how many. */
  retryFailed(filter: JobFilter = {}): number {
    return this.retryFailedStatement.run({
      userId: filter.userId ?? null,
      characterId: filter.characterId ?? null,
      guildKey: filter.guildKey ?? null,
    }).changes;
  }

  /** Takes a job for `owner`; false when someone else has it or it is finished. */
  claim(id: number, owner: string, now: number, maxAttempts: number): boolean {
    return this.claimStatement.run(owner, now, id, maxAttempts).changes === 1;
  }

  /** Counts one LLM try (before it is made, so a crash during it still counts). */
  recordAttempt(id: number, owner: string): void {
    this.attemptStatement.run(id, owner);
  }

  /** Keeps what went wrong with a try that will be retried. */
  noteError(id: number, owner: string, error: string): void {
    this.noteErrorStatement.run(clip(error), id, owner);
  }

  /**
   * Moves an owned running job to its final state. Throws when the job is not (any more) ours: called inside the
   * transaction that writes the job's memories, that throw rolls them back.
   */
  finish(id: number, owner: string, state: Exclude<JobState, 'pending' | 'running'>, error: string | null, resultIds: readonly number[], now: number): void {
    const changes = this.finishStatement.run(state, clip(error), JSON.stringify(resultIds), now, id, owner).changes;
    if (changes !== 1) throw new StoreError(`consolidation job ${id} is no longer held by ${owner}`);
  }

  /** Hands an owned running job back untouched (the run was cancelled). */
  release(id: number, owner: string): void {
    this.releaseStatement.run(id, owner);
  }

  /**
   * Running jobs whose owner `isAlive` says is gone (a killed process) go back to pending, or to failed when they have
   * used up their tries. Returns how many were taken back.
   */
  reclaimOrphans(isAlive: (owner: string | null) => boolean, maxAttempts: number, now: number): number {
    return this.db.transaction(() => {
      let reclaimed = 0;
      for (const row of this.runningStatement.all()) {
        if (isAlive(row.owner)) continue;
        const exhausted = row.attempts >= maxAttempts;
        reclaimed += this.orphanStatement.run(
          exhausted ? 'failed' : 'pending',
          `interrupted: the process running it (${row.owner ?? 'unknown'}) stopped`,
          now,
          row.id,
          row.owner,
        ).changes;
      }
      return reclaimed;
    })();
  }

  /** The latest done job of a kind in the same session before `beforeMessageId` (rolling summaries chain). */
  latestDoneInSession(kind: JobKind, scope: JobScope, sessionStartId: number, beforeMessageId: number): JobRecord | null {
    const row = this.latestDoneStatement.get(kind, scope.userId, scope.characterId, scope.guildKey, sessionStartId, beforeMessageId);
    return row ? toJob(row) : null;
  }

  /** The latest other done job of a kind for the same day (a second session on one day merges into its summary). */
  latestDoneOfDay(kind: JobKind, scope: JobScope, day: string, exceptJobId: number): JobRecord | null {
    const row = this.latestDoneOfDayStatement.get(kind, scope.userId, scope.characterId, scope.guildKey, day, exceptJobId);
    return row ? toJob(row) : null;
  }

  cursor(scope: JobScope): ScopeCursor {
    const row = this.getCursorStatement.get(scope.userId, scope.characterId, scope.guildKey);
    return {
      ...scope,
      plannedThrough: row?.planned_through ?? 0,
      rolledThrough: row?.rolled_through ?? 0,
      rolledSessionStart: row?.rolled_session_start ?? null,
      rolledAt: row?.rolled_at ?? null,
    };
  }

  /** Plans jobs and moves the planning cursor in one transaction. */
  planThrough(scope: JobScope, jobs: readonly NewJob[], plannedThrough: number, now: number): number {
    return this.db.transaction(() => {
      const added = this.plan(jobs, now);
      this.upsertPlannedStatement.run(scope.userId, scope.characterId, scope.guildKey, plannedThrough, now);
      return added;
    })();
  }

  /** Plans rolling-summary jobs and moves the rolling cursor in one transaction. */
  planRolling(
    scope: JobScope,
    jobs: readonly NewJob[],
    cursor: { readonly rolledThrough: number; readonly sessionStart: number | null; readonly at: number | null },
    now: number,
  ): number {
    return this.db.transaction(() => {
      const added = this.plan(jobs, now);
      this.upsertRolledStatement.run(
        scope.userId, scope.characterId, scope.guildKey, cursor.rolledThrough, cursor.sessionStart, cursor.at, now,
      );
      return added;
    })();
  }

  counts(): Record<JobState, number> {
    const counts: Record<JobState, number> = { pending: 0, running: 0, done: 0, failed: 0, skipped: 0 };
    for (const row of this.countsStatement.all()) counts[row.state] = row.n;
    return counts;
  }

  /** Every memory scope, as (user, character, guild key). */
  memoryScopes(): JobScope[] {
    return this.memoryScopesStatement.all().map((row) => ({ userId: row.user_id, characterId: row.character_id, guildKey: row.guild_id }));
  }

  /** All jobs of a scope (tests, diagnostics), in planning order. */
  jobsOf(scope: JobScope): JobRecord[] {
    return this.db
      .prepare<[number, string, string], JobRow>(
        `SELECT ${jobColumns} FROM consolidation_jobs WHERE user_id = ? AND character_id = ? AND guild_key = ? ORDER BY due_at, id`,
      )
      .all(scope.userId, scope.characterId, scope.guildKey)
      .map(toJob);
  }

  /** Forgets a scope's consolidation bookkeeping (its dialogue was erased); returns how many jobs were deleted. */
  deleteScope(userId: number, characterId: string, guildKey: string): number {
    this.deleteJobsStatement ??= this.db.prepare(`DELETE FROM consolidation_jobs WHERE user_id = ? AND character_id = ? AND guild_key = ?`);
    this.deleteCursorStatement ??= this.db.prepare(`DELETE FROM consolidation_cursors WHERE user_id = ? AND character_id = ? AND guild_key = ?`);
    const jobs = this.deleteJobsStatement;
    const cursor = this.deleteCursorStatement;
    return this.db.transaction(() => {
      cursor.run(userId, characterId, guildKey);
      return jobs.run(userId, characterId, guildKey).changes;
    })();
  }
}
