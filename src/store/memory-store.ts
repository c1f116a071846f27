/**
 * Long-term memory rows, their text index and their vectors. All memory SQL lives here; statements are prepared
 * once (per vector table for the run-time vec0 tables). Each logical write is one synchronous transaction that
 * writes the row, its memory_text terms and its vector together, so a failure leaves none of them behind. Callers
 * compute embeddings and terms before calling (async work never happens inside a transaction).
 *
 * Vectors, per embedding space: a vec0 table `memory_vectors_<space id>` partitioned by scope id, holding each
 * vector's SimHash code, and a plain table `memory_vectors_<space id>_half` with the vectors in half floats (both
 * made by vector-code.ts). A search shortlists by Hamming distance over the scope's codes, then orders the
 * shortlist by cosine similarity with the stored vectors.
 * vec0 rowid = memories.id; rowids and partition keys are bound as BigInt, as vec0 requires.
 */
import type { Statement } from 'better-sqlite3';
import { StoreError } from '../core/errors.js';
import type { SqliteDatabase } from './db.js';
import { codeBits, cosineWithHalfFloats, fromHalfFloats, simHashCode, toHalfFloats } from './vector-code.js';

export const memoryKinds = ['turn', 'event', 'fact', 'daily_summary', 'portrait', 'self_concept'] as const;
export type MemoryKind = (typeof memoryKinds)[number];

export interface MemoryRecord {
  readonly id: number;
  readonly scopeId: number;
  readonly kind: MemoryKind;
  readonly content: string;
  /** platform epoch ms of the source */
  readonly occurredAt: number;
  /** YYYY-MM-DD of occurredAt in the configured timezone */
  readonly day: string;
  readonly importance: number;
  readonly strength: number;
  readonly lastRecalledAt: number | null;
  readonly recallCount: number;
  readonly sourceMessageIds: readonly number[];
  readonly supersededBy: number | null;
  readonly forgottenAt: number | null;
  readonly createdAt: number;
}

export interface NewMemory {
  readonly scopeId: number;
  readonly kind: MemoryKind;
  readonly content: string;
  readonly occurredAt: number;
  readonly day: string;
  readonly importance: number;
  readonly strength: number;
  readonly sourceMessageIds: readonly number[];
  readonly createdAt: number;
}

/** A row to write: the memory, its pre-segmented text terms, and its vector in the given space's table (or none). */
export interface MemoryWrite {
  readonly memory: NewMemory;
  readonly terms: string;
  readonly vector: Float32Array | null;
}

export interface MemoryScopeRow {
  readonly id: number;
  readonly userId: number;
  readonly characterId: string;
  readonly guildId: string;
  readonly createdAt: number;
}

export type EmbeddingSpaceState = 'building' | 'active' | 'retired';

/**
 * How a space's vectors are stored. 1: one vec0 float column searched by cosine. 2: SimHash codes + half floats. A
 * space of an older layout is rebuilt like one of another embedder (memory.ts re-embeds, then switches atomically).
 */
export const vectorLayout = 2;

export interface EmbeddingSpace {
  readonly id: number;
  readonly embedderId: string;
  readonly dimension: number;
  readonly layout: number;
  readonly tableName: string;
  readonly state: EmbeddingSpaceState;
  readonly createdAt: number;
}

export interface DayRangeFilter {
  readonly from: string;
  readonly to: string;
}

export interface ListOptions {
  readonly kinds?: readonly MemoryKind[];
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
}

interface SpaceRow {
  id: number;
  embedder_id: string;
  dimension: number;
  layout: number;
  table_name: string;
  state: EmbeddingSpaceState;
  created_at: number;
}

interface VectorStatements {
  /** the space's vector length: the code column would take a vector of another length without complaint */
  readonly dimension: number;
  readonly insertCode: Statement<[bigint, bigint, Uint8Array]>;
  readonly insertHalf: Statement<[number, Uint8Array]>;
  readonly exists: Statement<[number], { memory_id: number }>;
  readonly get: Statement<[number], { embedding: Buffer }>;
  readonly shortlist: Statement<[Uint8Array, number, bigint, number], { id: number; embedding: Buffer }>;
}

const memoryColumns = `id, scope_id, kind, content, occurred_at, day, importance, strength, last_recalled_at, recall_count,
  source_message_ids, superseded_by, forgotten_at, created_at`;

/** What retrieval may return: current (not superseded), not forgotten, and not the portrait section's kinds. */
const recallable = `m.superseded_by IS NULL AND m.forgotten_at IS NULL AND m.kind NOT IN ('portrait', 'self_concept')`;

const vectorTablePattern = /^memory_vectors_\d+$/;

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
  };
}

function toSpace(row: SpaceRow): EmbeddingSpace {
  return {
    id: row.id,
    embedderId: row.embedder_id,
    dimension: row.dimension,
    layout: row.layout,
    tableName: row.table_name,
    state: row.state,
    createdAt: row.created_at,
  };
}

function checkTableName(tableName: string): string {
  if (!vectorTablePattern.test(tableName)) throw new StoreError(`"${tableName}" is not a memory vector table`);
  return tableName;
}

export class MemoryStore {
  private readonly vectorStatements = new Map<string, VectorStatements>();
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
  private readonly spacesStatement;
  private readonly insertSpaceStatement;
  private readonly setSpaceStateStatement;
  private readonly setSpaceTableStatement;
  private readonly deleteSpaceStatement;
  private readonly countMemoriesStatement;
  private readonly countMemoriesUpToStatement;
  private readonly memoriesAfterStatement;
  private readonly memoryExistsStatement;

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
    this.insertMemoryStatement = db.prepare<[NewMemory & { sourceJson: string }], never>(`
      INSERT INTO memories (scope_id, kind, content, occurred_at, day, importance, strength, source_message_ids, created_at)
      VALUES (@scopeId, @kind, @content, @occurredAt, @day, @importance, @strength, @sourceJson, @createdAt)
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
      WHERE memory_text MATCH ? AND m.scope_id = ? AND ${recallable}
      ORDER BY score LIMIT ?`);
    this.textSearchInRangeStatement = db.prepare<[string, number, string, string, number], { id: number; score: number }>(`
      SELECT m.id AS id, bm25(memory_text) AS score
      FROM memory_text JOIN memories m ON m.id = memory_text.rowid
      WHERE memory_text MATCH ? AND m.scope_id = ? AND m.day BETWEEN ? AND ? AND ${recallable}
      ORDER BY score LIMIT ?`);
    this.rangeIdsStatement = db.prepare<[number, string, string, number], { id: number }>(`
      SELECT m.id AS id FROM memories m
      WHERE m.scope_id = ? AND m.day BETWEEN ? AND ? AND ${recallable}
      ORDER BY m.occurred_at DESC, m.id DESC LIMIT ?`);
    this.strengthenStatement = db.prepare<[number, number]>(`
      UPDATE memories SET strength = strength + 1, last_recalled_at = ?, recall_count = recall_count + 1 WHERE id = ?`);
    this.latestOfKindStatement = db.prepare<[number, string], MemoryRow>(`
      SELECT ${memoryColumns} FROM memories
      WHERE scope_id = ? AND kind = ? AND superseded_by IS NULL AND forgotten_at IS NULL
      ORDER BY occurred_at DESC, id DESC LIMIT 1`);
    this.setForgottenStatement = db.prepare<[number | null, number]>(`UPDATE memories SET forgotten_at = ? WHERE id = ?`);
    // Text and vector entries go with each row through the AFTER DELETE triggers.
    this.deleteScopeMemoriesStatement = db.prepare<[number]>(`DELETE FROM memories WHERE scope_id = ?`);
    this.deleteScopeStatement = db.prepare<[number]>(`DELETE FROM memory_scopes WHERE id = ?`);
    this.spacesStatement = db.prepare<[], SpaceRow>(
      `SELECT id, embedder_id, dimension, layout, table_name, state, created_at FROM embedding_spaces ORDER BY id`,
    );
    this.insertSpaceStatement = db.prepare<[string, number, number, string, number], { id: number }>(`
      INSERT INTO embedding_spaces (embedder_id, dimension, layout, table_name, state, created_at)
      VALUES (?, ?, ?, ?, 'building', ?) RETURNING id`);
    this.setSpaceStateStatement = db.prepare<[EmbeddingSpaceState, number]>(`UPDATE embedding_spaces SET state = ? WHERE id = ?`);
    this.setSpaceTableStatement = db.prepare<[string, number]>(`UPDATE embedding_spaces SET table_name = ? WHERE id = ?`);
    this.deleteSpaceStatement = db.prepare<[number]>(`DELETE FROM embedding_spaces WHERE id = ?`);
    this.countMemoriesStatement = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM memories`);
    this.countMemoriesUpToStatement = db.prepare<[number], { n: number }>(`SELECT count(*) AS n FROM memories WHERE id <= ?`);
    this.memoriesAfterStatement = db.prepare<[number, number], { id: number; scope_id: number; content: string }>(
      `SELECT id, scope_id, content FROM memories WHERE id > ? ORDER BY id LIMIT ?`,
    );
    this.memoryExistsStatement = db.prepare<[number], { id: number }>(`SELECT id FROM memories WHERE id = ?`);
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

  /** Inserts rows with their text terms and vectors, all in one transaction. */
  insertMemories(writes: readonly MemoryWrite[], vectorTable: string | null): MemoryRecord[] {
    return this.db.transaction(() => writes.map((write) => this.insertOne(write, vectorTable)))();
  }

  /** Inserts the replacement and points the old row at it, in one transaction. The old row stays. */
  supersede(oldId: number, write: MemoryWrite, vectorTable: string | null): MemoryRecord {
    return this.db.transaction(() => {
      const created = this.insertOne(write, vectorTable);
      if (this.markSupersededStatement.run(created.id, oldId).changes !== 1) {
        throw new StoreError(`memory ${oldId} does not exist or was already superseded`);
      }
      return created;
    })();
  }

  private insertOne(write: MemoryWrite, vectorTable: string | null): MemoryRecord {
    const row = this.insertMemoryStatement.get({ ...write.memory, sourceJson: JSON.stringify(write.memory.sourceMessageIds) }) as
      | MemoryRow
      | undefined;
    if (!row) throw new StoreError('inserting a memory returned no row');
    this.insertTextStatement.run(row.id, write.terms);
    if (vectorTable && write.vector) {
      this.insertVector(this.vectors(vectorTable), row.id, row.scope_id, write.vector);
    }
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

  latestOfKind(scopeId: number, kind: MemoryKind): MemoryRecord | null {
    const row = this.latestOfKindStatement.get(scopeId, kind);
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
    parameters.push(options.limit ?? -1, options.offset ?? 0);
    // Built from fixed fragments only; values are bound. Rare enough (commands, export) not to need caching.
    return this.db
      .prepare<(string | number)[], MemoryRow>(
        `SELECT ${memoryColumns} FROM memories WHERE ${conditions.join(' AND ')}
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

  /**
   * Nearest vectors within the scope's partition, best first (cosine distance), only recallable rows: the
   * `shortlist` nearest by SimHash code, re-scored with the stored vectors, at most `k` of them. Rows are filtered
   * after the shortlist, so callers over-fetch a little.
   */
  vectorCandidates(vectorTable: string, scopeId: number, vector: Float32Array, k: number, shortlist = k): { id: number; distance: number }[] {
    const codes = Math.min(4096, Math.max(1, k, shortlist));
    return this.vectors(vectorTable)
      .shortlist.all(simHashCode(vector), codes, BigInt(scopeId), scopeId)
      .map((row) => ({ id: row.id, distance: 1 - cosineWithHalfFloats(vector, row.embedding) }))
      .sort((left, right) => left.distance - right.distance)
      .slice(0, Math.max(1, k));
  }

  /** Recallable memory ids of a scope within a day range, newest first. */
  idsInDayRange(scopeId: number, range: DayRangeFilter, limit: number): number[] {
    return this.rangeIdsStatement.all(scopeId, range.from, range.to, limit).map((row) => row.id);
  }

  /** The stored vectors of some memories (those that have one in this table). */
  vectorsOf(vectorTable: string, ids: readonly number[]): Map<number, Float32Array> {
    const statement = this.vectors(vectorTable).get;
    const found = new Map<number, Float32Array>();
    for (const id of ids) {
      const row = statement.get(id);
      if (row) {
        found.set(id, fromHalfFloats(row.embedding));
      }
    }
    return found;
  }

  // ---- embedding spaces ----

  spaces(): EmbeddingSpace[] {
    return this.spacesStatement.all().map(toSpace);
  }

  activeSpace(): EmbeddingSpace | null {
    return this.spaces().find((space) => space.state === 'active') ?? null;
  }

  /** A new 'building' space with its tables and its cleanup trigger. */
  createSpace(embedderId: string, dimension: number, now: number): EmbeddingSpace {
    if (!Number.isInteger(dimension) || dimension <= 0 || dimension > 8192) {
      throw new StoreError(`embedder ${embedderId}: dimension ${dimension} is not a usable vector length`);
    }
    return this.db.transaction(() => {
      // The id is known only after the insert; the table name derives from it.
      const placeholder = `memory_vectors_pending_${now}`;
      const id = this.insertSpaceStatement.get(embedderId, dimension, vectorLayout, placeholder, now)!.id;
      const tableName = `memory_vectors_${id}`;
      this.setSpaceTableStatement.run(tableName, id);
      // vec0 finds a partition's chunks with "WHERE partition00 = ?" on its _chunks table, which it does not index:
      // without the index every search reads every scope's chunk rows, and that grows with the number of people.
      this.db.exec(`
        CREATE VIRTUAL TABLE ${tableName} USING vec0(
          scope_id integer partition key,
          code bit[${codeBits(dimension)}]
        );
        CREATE INDEX ${tableName}_chunks_by_scope ON ${tableName}_chunks (partition00);
        CREATE TABLE ${tableName}_half (
          memory_id INTEGER PRIMARY KEY,
          embedding BLOB NOT NULL
        );
        CREATE TRIGGER ${tableName}_cleanup AFTER DELETE ON memories BEGIN
          DELETE FROM ${tableName} WHERE rowid = old.id;
          DELETE FROM ${tableName}_half WHERE memory_id = old.id;
        END;`);
      return { id, embedderId, dimension, layout: vectorLayout, tableName, state: 'building' as const, createdAt: now };
    })();
  }

  /** Makes a building space the active one; the previous active space is retired and its table dropped. Atomic. */
  activateSpace(spaceId: number): void {
    this.db.transaction(() => {
      const spaces = this.spaces();
      const target = spaces.find((space) => space.id === spaceId);
      if (!target || target.state !== 'building') throw new StoreError(`embedding space ${spaceId} is not being built`);
      for (const space of spaces) {
        if (space.state !== 'active') continue;
        this.dropVectorTable(space.tableName);
        this.setSpaceStateStatement.run('retired', space.id);
      }
      this.setSpaceStateStatement.run('active', spaceId);
    })();
  }

  /** Abandons a space (e.g. an unfinished build for another embedder): its table goes, and its row. */
  dropSpace(spaceId: number): void {
    this.db.transaction(() => {
      const space = this.spaces().find((candidate) => candidate.id === spaceId);
      if (!space) return;
      if (space.state !== 'retired') this.dropVectorTable(space.tableName);
      this.deleteSpaceStatement.run(spaceId);
    })();
  }

  private dropVectorTable(tableName: string): void {
    checkTableName(tableName);
    this.vectorStatements.delete(tableName);
    this.db.exec(`DROP TRIGGER IF EXISTS ${tableName}_cleanup; DROP TABLE IF EXISTS ${tableName}; DROP TABLE IF EXISTS ${tableName}_half;`);
  }

  countMemories(): number {
    return this.countMemoriesStatement.get()!.n;
  }

  countMemoriesUpTo(id: number): number {
    return this.countMemoriesUpToStatement.get(id)!.n;
  }

  /** Memories in id order after `afterId`, for re-embedding in batches. */
  memoriesAfter(afterId: number, limit: number): { id: number; scopeId: number; content: string }[] {
    return this.memoriesAfterStatement.all(afterId, limit).map((row) => ({ id: row.id, scopeId: row.scope_id, content: row.content }));
  }

  /** Writes re-embedded vectors in one transaction, skipping memories deleted meanwhile or already written. */
  insertVectors(vectorTable: string, rows: readonly { id: number; scopeId: number; vector: Float32Array }[]): void {
    const statements = this.vectors(vectorTable);
    this.db.transaction(() => {
      for (const row of rows) {
        if (!this.memoryExistsStatement.get(row.id)) continue;
        if (statements.exists.get(row.id)) continue;
        this.insertVector(statements, row.id, row.scopeId, row.vector);
      }
    })();
  }

  private insertVector(statements: VectorStatements, id: number, scopeId: number, vector: Float32Array): void {
    if (vector.length !== statements.dimension) {
      throw new StoreError(`memory ${id}: a vector of ${vector.length} dimensions for a space of ${statements.dimension}`);
    }
    statements.insertCode.run(BigInt(id), BigInt(scopeId), simHashCode(vector));
    statements.insertHalf.run(id, toHalfFloats(vector));
  }

  private vectors(tableName: string): VectorStatements {
    let statements = this.vectorStatements.get(tableName);
    if (!statements) {
      checkTableName(tableName);
      const space = this.spaces().find((candidate) => candidate.tableName === tableName);
      if (!space) throw new StoreError(`"${tableName}" belongs to no embedding space`);
      statements = {
        dimension: space.dimension,
        insertCode: this.db.prepare(`INSERT INTO ${tableName} (rowid, scope_id, code) VALUES (?, ?, vec_bit(?))`),
        insertHalf: this.db.prepare(`INSERT INTO ${tableName}_half (memory_id, embedding) VALUES (?, ?)`),
        exists: this.db.prepare(`SELECT memory_id FROM ${tableName}_half WHERE memory_id = ?`),
        get: this.db.prepare(`SELECT embedding FROM ${tableName}_half WHERE memory_id = ?`),
        shortlist: this.db.prepare(`
          WITH shortlist AS MATERIALIZED (
            SELECT rowid FROM ${tableName} WHERE code MATCH vec_bit(?) AND k = ? AND scope_id = ?
          )
          SELECT m.id AS id, stored.embedding AS embedding
          FROM shortlist
          JOIN ${tableName}_half stored ON stored.memory_id = shortlist.rowid
          JOIN memories m ON m.id = shortlist.rowid
          WHERE m.scope_id = ? AND ${recallable}`),
      };
      this.vectorStatements.set(tableName, statements);
    }
    return statements;
  }
}
