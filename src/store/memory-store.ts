/**
 * Long-term memory rows, their scopes and their text index. All memory SQL lives here (the vector tables of the
 * embedding spaces are embedding-space-store.ts); statements are prepared once. Each logical write is one synchronous
 * transaction that writes the row, its memory_text terms and its vector together, so a failure leaves none of them
 * behind. Callers compute embeddings and terms before calling (async work never happens inside a transaction).
 *
 * A memory written without its vector (an archived turn, embedded in the background) is listed in
 * memory_vector_backlog until its vector is written, so a crash or an embedder outage only delays it.
 */
import { StoreError } from '../core/errors.js';
import type { SqliteDatabase } from './db.js';
import type { VectorTable } from './vector-table.js';

export const memoryKinds = ['turn', 'event', 'fact', 'daily_summary', 'portrait', 'self_concept'] as const;
export type MemoryKind = (typeof memoryKinds)[number];

/** A memory as it is written. */
export interface NewMemory {
  readonly scopeId: number;
  readonly kind: MemoryKind;
  readonly content: string;
  /** platform epoch ms of the source */
  readonly occurredAt: number;
  /** YYYY-MM-DD of occurredAt in the configured timezone */
  readonly day: string;
  readonly importance: number;
  readonly strength: number;
  readonly sourceMessageIds: readonly number[];
  readonly createdAt: number;
  /**
   * Said in a private conversation (a DM, the terminal): its sources were, or it has none and its scope's place is
   * private. Such a memory is not recalled into a group's prompt unless memory.privateInGroups allows it.
   */
  readonly private: boolean;
}

/** A stored memory: as written, and what recall, superseding and forgetting made of it since. */
export interface MemoryRecord extends NewMemory {
  readonly id: number;
  readonly lastRecalledAt: number | null;
  readonly recallCount: number;
  readonly supersededBy: number | null;
  readonly forgottenAt: number | null;
}

/** A row to write: the memory, its pre-segmented text terms, and its vector (null: embedded later, from the backlog). */
export interface MemoryWrite {
  readonly memory: NewMemory;
  readonly terms: string;
  readonly vector: Float32Array | null;
}

/** What embedding a memory needs. */
export interface MemoryText {
  readonly id: number;
  readonly scopeId: number;
  readonly content: string;
}

export interface MemoryScopeRow {
  readonly id: number;
  readonly userId: number;
  readonly characterId: string;
  readonly guildId: string;
  readonly createdAt: number;
}

export interface DayRangeFilter {
  readonly from: string;
  readonly to: string;
}

export interface ListOptions {
  readonly kinds?: readonly MemoryKind[];
  /** only memories every source message of which was said in this guild (what a server's admin may see) */
  readonly sourcedOnlyIn?: string;
  readonly includeSuperseded?: boolean;
  readonly includeForgotten?: boolean;
  readonly limit?: number;
  readonly offset?: number;
}

interface MemoryRow {
  id: number;
  scope_id: number;
  kind: MemoryKind;
  content: string;
  occurred_at: number;
  day: string;
  importance: number;
  strength: number;
  last_recalled_at: number | null;
  recall_count: number;
  source_message_ids: string;
  superseded_by: number | null;
  forgotten_at: number | null;
  created_at: number;
  private: number;
}

const memoryColumns = `id, scope_id, kind, content, occurred_at, day, importance, strength, last_recalled_at, recall_count,
  source_message_ids, superseded_by, forgotten_at, created_at, private`;

/** The guild of each source message of the memories row aliased `m` (a DM's or the terminal's is ''). */
const sourceGuilds = `SELECT c.guild_id FROM json_each(m.source_message_ids) j
  JOIN messages src ON src.id = j.value JOIN conversations c ON c.id = src.conversation_id`;

/**
 * What retrieval may return, as a condition on the memories row aliased `alias`: current (not superseded), not
 * forgotten, and not the portrait section's kinds.
 */
export function recallable(alias: string): string {
  return `${alias}.superseded_by IS NULL AND ${alias}.forgotten_at IS NULL AND ${alias}.kind NOT IN ('portrait', 'self_concept')`;
}

function parseSourceIds(json: string, id: number): number[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((value) => Number.isInteger(value))) {
    throw new StoreError(`memory ${id}: source_message_ids is not a list of message ids`);
  }
  return parsed as number[];
}

function toRecord(row: MemoryRow): MemoryRecord {
  return {
    id: row.id,
    scopeId: row.scope_id,
    kind: row.kind,
    content: row.content,
    occurredAt: row.occurred_at,
    day: row.day,
    importance: row.importance,
    strength: row.strength,
    lastRecalledAt: row.last_recalled_at,
    recallCount: row.recall_count,
    sourceMessageIds: parseSourceIds(row.source_message_ids, row.id),
    supersededBy: row.superseded_by,
    forgottenAt: row.forgotten_at,
    createdAt: row.created_at,
    private: row.private === 1,
  };
}

export class MemoryStore {
  private readonly upsertScopeStatement;
  private readonly findScopeStatement;
  private readonly scopesOfUserStatement;
  private readonly insertMemoryStatement;
  private readonly insertTextStatement;
  private readonly getMemoryStatement;
  private readonly getManyStatement;
  private readonly markSupersededStatement;
  private readonly textSearchStatement;
  private readonly textSearchInRangeStatement;
  private readonly rangeIdsStatement;
  private readonly strengthenStatement;
  private readonly latestOfKindStatement;
  private readonly setForgottenStatement;
  private readonly deleteScopeMemoriesStatement;
  private readonly deleteScopeStatement;
  private readonly countMemoriesStatement;
  private readonly memoriesAfterStatement;
  private readonly memoryTextStatement;
  private readonly addBacklogStatement;
  private readonly privateSourceStatement;
  private readonly idsSourcedInGuildStatement;
  private readonly deleteMemoryStatement;
  private readonly backlogStatement;
  private readonly clearBacklogStatement;
  private readonly backlogFailedStatement;
  private readonly resetBacklogStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.upsertScopeStatement = db.prepare<[number, string, string, number], { id: number }>(`
      INSERT INTO memory_scopes (user_id, character_id, guild_id, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (user_id, character_id, guild_id) DO UPDATE SET created_at = memory_scopes.created_at
      RETURNING id`);
    this.findScopeStatement = db.prepare<[number, string, string], { id: number }>(
      `SELECT id FROM memory_scopes WHERE user_id = ? AND character_id = ? AND guild_id = ?`,
    );
    this.scopesOfUserStatement = db.prepare<[number], { id: number; user_id: number; character_id: string; guild_id: string; created_at: number }>(
      `SELECT id, user_id, character_id, guild_id, created_at FROM memory_scopes WHERE user_id = ? ORDER BY id`,
    );
    this.insertMemoryStatement = db.prepare<[Omit<NewMemory, 'private'> & { sourceJson: string; privateFlag: number }], never>(`
      INSERT INTO memories (scope_id, kind, content, occurred_at, day, importance, strength, source_message_ids, created_at, private)
      VALUES (@scopeId, @kind, @content, @occurredAt, @day, @importance, @strength, @sourceJson, @createdAt, @privateFlag)
      RETURNING ${memoryColumns}`);
    this.insertTextStatement = db.prepare<[number, string]>(`INSERT INTO memory_text (rowid, terms) VALUES (?, ?)`);
    this.getMemoryStatement = db.prepare<[number], MemoryRow>(`SELECT ${memoryColumns} FROM memories WHERE id = ?`);
    this.getManyStatement = db.prepare<[string], MemoryRow>(
      `SELECT ${memoryColumns} FROM memories WHERE id IN (SELECT value FROM json_each(?))`,
    );
    this.markSupersededStatement = db.prepare<[number, number]>(
      `UPDATE memories SET superseded_by = ? WHERE id = ? AND superseded_by IS NULL`,
    );
    // The scope check beside MATCH is belt and braces: the scoped terms already keep other scopes out.
    this.textSearchStatement = db.prepare<[string, number, number], { id: number; score: number }>(`
      SELECT m.id AS id, bm25(memory_text) AS score
      FROM memory_text JOIN memories m ON m.id = memory_text.rowid
      WHERE memory_text MATCH ? AND m.scope_id = ? AND ${recallable('m')}
      ORDER BY score LIMIT ?`);
    this.textSearchInRangeStatement = db.prepare<[string, number, string, string, number], { id: number; score: number }>(`
      SELECT m.id AS id, bm25(memory_text) AS score
      FROM memory_text JOIN memories m ON m.id = memory_text.rowid
      WHERE memory_text MATCH ? AND m.scope_id = ? AND m.day BETWEEN ? AND ? AND ${recallable('m')}
      ORDER BY score LIMIT ?`);
    this.rangeIdsStatement = db.prepare<[number, string, string, number], { id: number }>(`
      SELECT m.id AS id FROM memories m
      WHERE m.scope_id = ? AND m.day BETWEEN ? AND ? AND ${recallable('m')}
      ORDER BY m.occurred_at DESC, m.id DESC LIMIT ?`);
    this.strengthenStatement = db.prepare<[number, number]>(`
      UPDATE memories SET strength = strength + 1, last_recalled_at = ?, recall_count = recall_count + 1 WHERE id = ?`);
    this.latestOfKindStatement = db.prepare<[number, string, number], MemoryRow>(`
      SELECT ${memoryColumns} FROM memories
      WHERE scope_id = ? AND kind = ? AND superseded_by IS NULL AND forgotten_at IS NULL AND (private = 0 OR ?)
      ORDER BY occurred_at DESC, id DESC LIMIT 1`);
    this.setForgottenStatement = db.prepare<[number | null, number]>(`UPDATE memories SET forgotten_at = ? WHERE id = ?`);
    // Text and vector entries go with each row through the AFTER DELETE triggers.
    this.deleteScopeMemoriesStatement = db.prepare<[number]>(`DELETE FROM memories WHERE scope_id = ?`);
    this.deleteScopeStatement = db.prepare<[number]>(`DELETE FROM memory_scopes WHERE id = ?`);
    this.countMemoriesStatement = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM memories`);
    this.memoriesAfterStatement = db.prepare<[number, number], { id: number; scope_id: number; content: string }>(
      `SELECT id, scope_id, content FROM memories WHERE id > ? ORDER BY id LIMIT ?`,
    );
    this.memoryTextStatement = db.prepare<[number], { scope_id: number; content: string }>(`SELECT scope_id, content FROM memories WHERE id = ?`);
    this.addBacklogStatement = db.prepare<[number]>(`INSERT OR IGNORE INTO memory_vector_backlog (memory_id) VALUES (?)`);
    this.privateSourceStatement = db.prepare<[string], { n: number }>(`
      SELECT count(*) AS n FROM json_each(?) j
      JOIN messages src ON src.id = j.value JOIN conversations c ON c.id = src.conversation_id
      WHERE c.guild_id = ''`);
    this.idsSourcedInGuildStatement = db.prepare<[number, string], { id: number }>(`
      SELECT m.id AS id FROM memories m WHERE m.scope_id = ? AND ? IN (${sourceGuilds})`);
    this.deleteMemoryStatement = db.prepare<[number]>(`DELETE FROM memories WHERE id = ?`);
    this.backlogStatement = db.prepare<[number, number, number], { id: number; scope_id: number; content: string }>(`
      SELECT m.id AS id, m.scope_id AS scope_id, m.content AS content
      FROM memory_vector_backlog b JOIN memories m ON m.id = b.memory_id
      WHERE b.memory_id > ? AND b.attempts < ? ORDER BY b.memory_id LIMIT ?`);
    this.backlogFailedStatement = db.prepare<[number]>(`UPDATE memory_vector_backlog SET attempts = attempts + 1 WHERE memory_id = ? RETURNING attempts`);
    this.resetBacklogStatement = db.prepare(`UPDATE memory_vector_backlog SET attempts = 0`);
    this.clearBacklogStatement = db.prepare<[number]>(`DELETE FROM memory_vector_backlog WHERE memory_id = ?`);
  }

  // ---- scopes ----

  /** The scope's id, creating it on first use. */
  ensureScope(userId: number, characterId: string, guildId: string, now: number): number {
    return this.upsertScopeStatement.get(userId, characterId, guildId, now)!.id;
  }

  findScope(userId: number, characterId: string, guildId: string): number | null {
    return this.findScopeStatement.get(userId, characterId, guildId)?.id ?? null;
  }

  scopesOfUser(userId: number): MemoryScopeRow[] {
    return this.scopesOfUserStatement.all(userId).map((row) => ({
      id: row.id, userId: row.user_id, characterId: row.character_id, guildId: row.guild_id, createdAt: row.created_at,
    }));
  }

  // ---- writes ----

  /** Inserts rows with their text terms and vectors (or backlog entries), all in one transaction. */
  insertMemories(writes: readonly MemoryWrite[], vectorTable: VectorTable | null): MemoryRecord[] {
    return this.db.transaction(() => writes.map((write) => this.insertOne(write, vectorTable)))();
  }

  /** Inserts the replacement and points the old row at it, in one transaction. The old row stays. */
  supersede(oldId: number, write: MemoryWrite, vectorTable: VectorTable | null): MemoryRecord {
    return this.db.transaction(() => {
      const created = this.insertOne(write, vectorTable);
      if (this.markSupersededStatement.run(created.id, oldId).changes !== 1) {
        throw new StoreError(`memory ${oldId} does not exist or was already superseded`);
      }
      return created;
    })();
  }

  private insertOne(write: MemoryWrite, vectorTable: VectorTable | null): MemoryRecord {
    const { private: isPrivate, ...memory } = write.memory;
    const row = this.insertMemoryStatement.get({ ...memory, sourceJson: JSON.stringify(memory.sourceMessageIds), privateFlag: isPrivate ? 1 : 0 }) as
      | MemoryRow
      | undefined;
    if (!row) throw new StoreError('inserting a memory returned no row');
    this.insertTextStatement.run(row.id, write.terms);
    if (vectorTable && write.vector) vectorTable.insert(row.id, row.scope_id, write.vector);
    else this.addBacklogStatement.run(row.id);
    return toRecord(row);
  }

  /** S += 1, last_recalled_at = at, recall_count + 1 for each id, in one transaction. */
  strengthen(ids: readonly number[], at: number): void {
    if (ids.length === 0) return;
    this.db.transaction(() => {
      for (const id of ids) this.strengthenStatement.run(at, id);
    })();
  }

  /** Marks memories forgotten (at) or restores them (null); returns how many rows changed. */
  setForgotten(ids: readonly number[], at: number | null): number {
    return this.db.transaction(() => ids.reduce((sum, id) => sum + this.setForgottenStatement.run(at, id).changes, 0))();
  }

  /**
   * Rewrites the full-text index without what was deleted from it. Deleting from memory_text (contentless, with
   * contentless_delete) only records a tombstone, and the terms stay in their segment until it is merged; after an
   * erase they must not stay at all. Costs a pass over the whole index (~0.8 s at 200k memories).
   */
  purgeDeletedText(): void {
    this.db.exec(`INSERT INTO memory_text (memory_text) VALUES ('optimize')`);
  }

  /** Whether any of these messages was said in a private conversation (a DM, the terminal). */
  anyPrivateSource(messageIds: readonly number[]): boolean {
    return messageIds.length > 0 && this.privateSourceStatement.get(JSON.stringify(messageIds))!.n > 0;
  }

  /** Ids of a scope's memories with at least one source message said in the guild. */
  idsSourcedInGuild(scopeId: number, guildId: string): number[] {
    return this.idsSourcedInGuildStatement.all(scopeId, guildId).map((row) => row.id);
  }

  /** Deletes memories with their text entries and vectors (the triggers); one transaction. Returns how many. */
  deleteMemories(ids: readonly number[]): number {
    return this.db.transaction(() => ids.reduce((sum, id) => sum + this.deleteMemoryStatement.run(id).changes, 0))();
  }

  /** Deletes every memory of a scope with its text entries and vectors, and the scope itself; one transaction. */
  deleteScope(scopeId: number): number {
    return this.db.transaction(() => {
      const deleted = this.deleteScopeMemoriesStatement.run(scopeId).changes;
      this.deleteScopeStatement.run(scopeId);
      return deleted;
    })();
  }

  // ---- reads ----

  get(id: number): MemoryRecord | null {
    const row = this.getMemoryStatement.get(id);
    return row ? toRecord(row) : null;
  }

  /** The memories that exist among `ids`, in no particular order (one statement, not one per id). */
  getMany(ids: readonly number[]): MemoryRecord[] {
    return ids.length === 0 ? [] : this.getManyStatement.all(JSON.stringify(ids)).map(toRecord);
  }

  /** The newest current memory of a kind; a private one only with `includePrivate`. */
  latestOfKind(scopeId: number, kind: MemoryKind, includePrivate: boolean): MemoryRecord | null {
    const row = this.latestOfKindStatement.get(scopeId, kind, includePrivate ? 1 : 0);
    return row ? toRecord(row) : null;
  }

  /** A scope's memories, newest first. */
  list(scopeId: number, options: ListOptions = {}): MemoryRecord[] {
    const conditions = ['scope_id = ?'];
    const parameters: (string | number)[] = [scopeId];
    if (options.kinds && options.kinds.length > 0) {
      conditions.push(`kind IN (${options.kinds.map(() => '?').join(', ')})`);
      parameters.push(...options.kinds);
    }
    if (!options.includeSuperseded) conditions.push('superseded_by IS NULL');
    if (!options.includeForgotten) conditions.push('forgotten_at IS NULL');
    if (options.sourcedOnlyIn !== undefined) {
      // At least one source, and every source said in the guild (a source erased since counts as elsewhere).
      conditions.push(`source_message_ids != '[]' AND NOT EXISTS (
        SELECT 1 FROM json_each(m.source_message_ids) j LEFT JOIN messages src ON src.id = j.value
        LEFT JOIN conversations c ON c.id = src.conversation_id WHERE c.guild_id IS NOT ?)`);
      parameters.push(options.sourcedOnlyIn);
    }
    parameters.push(options.limit ?? -1, options.offset ?? 0);
    // Built from fixed fragments only; values are bound. Rare enough (commands, export) not to need caching.
    return this.db
      .prepare<(string | number)[], MemoryRow>(
        `SELECT ${memoryColumns} FROM memories m WHERE ${conditions.join(' AND ')}
         ORDER BY occurred_at DESC, id DESC LIMIT ? OFFSET ?`,
      )
      .all(...parameters)
      .map(toRecord);
  }

  /** BM25 candidates of a scope, best first (bm25 is lower-is-better). */
  textCandidates(scopeId: number, match: string, limit: number, range?: DayRangeFilter): { id: number; score: number }[] {
    return range
      ? this.textSearchInRangeStatement.all(match, scopeId, range.from, range.to, limit)
      : this.textSearchStatement.all(match, scopeId, limit);
  }

  /** Recallable memory ids of a scope within a day range, newest first. */
  idsInDayRange(scopeId: number, range: DayRangeFilter, limit: number): number[] {
    return this.rangeIdsStatement.all(scopeId, range.from, range.to, limit).map((row) => row.id);
  }

  countMemories(): number {
    return this.countMemoriesStatement.get()!.n;
  }


  /** Memories in id order after `afterId`, for re-embedding in batches. */
  memoriesAfter(afterId: number, limit: number): { id: number; scopeId: number; content: string }[] {
    return this.memoriesAfterStatement.all(afterId, limit).map((row) => ({ id: row.id, scopeId: row.scope_id, content: row.content }));
  }

  /** Memories written without a vector that still wait for one (tried fewer than `maxAttempts` times), in id order after `afterId`. */
  backlog(afterId: number, maxAttempts: number, limit: number): MemoryText[] {
    return this.backlogStatement.all(afterId, maxAttempts, limit).map((row) => ({ id: row.id, scopeId: row.scope_id, content: row.content }));
  }

  /** The embedder refused this memory's text once more; returns how many times now. */
  backlogFailed(id: number): number {
    return (this.backlogFailedStatement.get(id) as { attempts: number } | undefined)?.attempts ?? 0;
  }

  /** Every waiting memory gets a fresh set of tries (at start). */
  resetBacklogAttempts(): void {
    this.resetBacklogStatement.run();
  }

  /**
   * Writes vectors of existing memories (a re-embed, the backlog) in one transaction; each written memory leaves the
   * backlog. A vector is written only for the memory it was embedded from: one deleted while it was embedded is
   * skipped, and so is a new memory that took its id meanwhile (SQLite reuses the highest ids), whose text differs.
   */
  insertVectors(vectorTable: VectorTable, rows: readonly (MemoryText & { vector: Float32Array })[]): void {
    this.db.transaction(() => {
      for (const row of rows) {
        const current = this.memoryTextStatement.get(row.id);
        if (!current || current.scope_id !== row.scopeId || current.content !== row.content) continue;
        if (!vectorTable.has(row.id)) vectorTable.insert(row.id, row.scopeId, row.vector);
        this.clearBacklogStatement.run(row.id);
      }
    })();
  }
}
