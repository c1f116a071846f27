/**
 * Characters' script chunks, their text terms and their vectors (migration 0030-scripts.ts). All script SQL lives
 * here; statements are prepared once (per vector table for the run-time vector tables). A character's index is
 * replaced whole in one synchronous transaction — index row, chunks, text terms and vectors — so readers see the
 * old index or the new one and a failure leaves the old one as it was. Callers embed before calling.
 *
 * Vectors are stored as memories' are (vector-table.ts: SimHash codes to shortlist by, half floats to re-score by):
 * one table per vector length, `script_codes_<dimension>`, created on first use (a vec0 table has a fixed length),
 * partitioned by character_id so a search reads only that character's codes. Its cleanup trigger removes a chunk's
 * code and vector when the chunk is deleted, as script_chunks_text_cleanup removes its terms. Migration 0080 dropped
 * the float tables of the layout before (`script_vectors_<dimension>`).
 */
import { StoreError } from '../core/errors.js';
import { scopePrefix } from '../search/terms.js';
import type { SqliteDatabase } from './db.js';
import { tableExists } from './schema-objects.js';
import { scripts } from './migrations/0030-scripts.js';
import { VectorTable, vectorTableSql, type VectorHit, type VectorTableShape } from './vector-table.js';

/** What a character's current index was built from. `key` prefixes its text terms (search/terms.ts). */
export interface ScriptIndexState {
  readonly key: number;
  readonly characterId: string;
  readonly scriptHash: string;
  readonly embedderId: string;
  readonly dimension: number;
  readonly chunkCount: number;
  readonly indexedAt: number;
}

export interface ScriptChunkWrite {
  /** the file inside script/texts/ */
  readonly file: string;
  readonly text: string;
  readonly tokenCount: number;
  /** the chunk's text terms (search/terms.ts segmentText), unprefixed: the prefix derives from the index key,
   * which a new character gets only inside the writing transaction */
  readonly terms: readonly string[];
  readonly vector: Float32Array;
}

export interface ScriptIndexWrite {
  readonly characterId: string;
  readonly scriptHash: string;
  readonly embedderId: string;
  readonly dimension: number;
  readonly indexedAt: number;
  readonly chunks: readonly ScriptChunkWrite[];
}

export interface StoredScriptChunk {
  readonly id: number;
  readonly characterId: string;
  readonly ordinal: number;
  readonly file: string;
  readonly text: string;
  readonly tokenCount: number;
}

interface StateRow {
  id: number;
  character_id: string;
  script_hash: string;
  embedder_id: string;
  dimension: number;
  chunk_count: number;
  indexed_at: number;
}

interface ChunkRow {
  id: number;
  character_id: string;
  ordinal: number;
  file: string;
  text: string;
  token_count: number;
}

const maxDimension = 8192;

/** The vector table of one vector length: chunk rows keyed by chunk id, searched inside one character's partition. */
function scriptVectorShape(dimension: number): VectorTableShape {
  if (!Number.isInteger(dimension) || dimension <= 0 || dimension > maxDimension) {
    throw new StoreError(`script vectors: ${dimension} is not a usable vector length (1 to ${maxDimension})`);
  }
  return {
    // not script_vectors_<n>: those were the float tables of the previous layout
    name: `script_codes_${dimension}`,
    dimension,
    partitionColumn: 'character_id',
    partitionType: 'text',
    keyColumn: 'chunk_id',
    ownerTable: 'script_chunks',
    searchFilter: 'r.character_id = ?',
  };
}

function toState(row: StateRow): ScriptIndexState {
  return {
    key: row.id,
    characterId: row.character_id,
    scriptHash: row.script_hash,
    embedderId: row.embedder_id,
    dimension: row.dimension,
    chunkCount: row.chunk_count,
    indexedAt: row.indexed_at,
  };
}

function toChunk(row: ChunkRow): StoredScriptChunk {
  return { id: row.id, characterId: row.character_id, ordinal: row.ordinal, file: row.file, text: row.text, tokenCount: row.token_count };
}

export class ScriptStore {
  private readonly vectorTables = new Map<number, VectorTable>();
  private readonly stateStatement;
  private readonly upsertStateStatement;
  private readonly deleteStateStatement;
  private readonly deleteChunksStatement;
  private readonly insertChunkStatement;
  private readonly insertTextStatement;
  private readonly textSearchStatement;
  private readonly chunkStatement;
  private readonly countChunksStatement;

  constructor(private readonly db: SqliteDatabase) {
    if (!this.hasScriptTables()) {
      // applyMigrations runs only the migrations above the stored user_version, so a database created by a build
      // that had 0040 but not yet 0030 skipped it. 0030 only adds tables of its own, so it is safe to apply late.
      db.transaction(() => scripts.up(db)).immediate();
    }
    const stateColumns = 'id, character_id, script_hash, embedder_id, dimension, chunk_count, indexed_at';
    this.stateStatement = db.prepare<[string], StateRow>(`SELECT ${stateColumns} FROM script_indexes WHERE character_id = ?`);
    this.upsertStateStatement = db.prepare<[string, string, string, number, number, number], { id: number }>(`
      INSERT INTO script_indexes (character_id, script_hash, embedder_id, dimension, chunk_count, indexed_at)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (character_id) DO UPDATE SET script_hash = excluded.script_hash, embedder_id = excluded.embedder_id,
        dimension = excluded.dimension, chunk_count = excluded.chunk_count, indexed_at = excluded.indexed_at
      RETURNING id`);
    // Chunks, their terms and vectors go by cascade and the AFTER DELETE triggers.
    this.deleteStateStatement = db.prepare<[string]>(`DELETE FROM script_indexes WHERE character_id = ?`);
    this.deleteChunksStatement = db.prepare<[string]>(`DELETE FROM script_chunks WHERE character_id = ?`);
    this.insertChunkStatement = db.prepare<[string, number, string, string, number], { id: number }>(
      `INSERT INTO script_chunks (character_id, ordinal, file, text, token_count) VALUES (?, ?, ?, ?, ?) RETURNING id`,
    );
    this.insertTextStatement = db.prepare<[number, string]>(`INSERT INTO script_text (rowid, terms) VALUES (?, ?)`);
    // The character check beside MATCH is belt and braces: the prefixed terms already keep other characters out.
    this.textSearchStatement = db.prepare<[string, string, number], { id: number; score: number }>(`
      SELECT c.id AS id, bm25(script_text) AS score
      FROM script_text JOIN script_chunks c ON c.id = script_text.rowid
      WHERE script_text MATCH ? AND c.character_id = ?
      ORDER BY score LIMIT ?`);
    this.chunkStatement = db.prepare<[number], ChunkRow>(
      `SELECT id, character_id, ordinal, file, text, token_count FROM script_chunks WHERE id = ?`,
    );
    this.countChunksStatement = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM script_chunks WHERE character_id = ?`);
  }

  state(characterId: string): ScriptIndexState | null {
    const row = this.stateStatement.get(characterId);
    return row ? toState(row) : null;
  }

  /**
   * Replaces a character's whole index in one transaction: the old chunks (with their terms and vectors) go, the
   * index row records what the new one was built from, and every chunk is written with its terms, prefixed by the
   * index key as memories' are by their scope, and its vector. Returns the new state.
   */
  replace(write: ScriptIndexWrite): ScriptIndexState {
    const vectors = this.vectors(write.dimension);
    return this.db.transaction(() => {
      this.deleteChunksStatement.run(write.characterId);
      const key = this.upsertStateStatement.get(
        write.characterId, write.scriptHash, write.embedderId, write.dimension, write.chunks.length, write.indexedAt,
      )!.id;
      const termPrefix = scopePrefix(key);
      write.chunks.forEach((chunk, ordinal) => {
        // VectorTable checks the length too, but only here is the chunk's file known, which is what a reader can fix.
        if (chunk.vector.length !== write.dimension) {
          throw new StoreError(
            `${vectors.name}: chunk ${chunk.file} of ${write.characterId} has a vector of ${chunk.vector.length} values, ` +
              `expected ${write.dimension}`,
          );
        }
        const id = this.insertChunkStatement.get(write.characterId, ordinal, chunk.file, chunk.text, chunk.tokenCount)!.id;
        this.insertTextStatement.run(id, chunk.terms.map((term) => termPrefix + term).join(' '));
        vectors.insert(id, write.characterId, chunk.vector);
      });
      return this.state(write.characterId)!;
    }).immediate();
  }

  /** Forgets a character's index: its row, chunks, terms and vectors; one transaction. Returns whether one existed. */
  remove(characterId: string): boolean {
    return this.db.transaction(() => {
      this.deleteChunksStatement.run(characterId);
      return this.deleteStateStatement.run(characterId).changes > 0;
    })();
  }

  /**
   * Nearest chunks of one character, best first, at most `k`: the `shortlist` nearest codes of its partition,
   * re-scored by cosine (vector-table.ts). Only its partition is read.
   */
  vectorCandidates(characterId: string, dimension: number, vector: Float32Array, k: number, shortlist: number): VectorHit[] {
    return this.vectors(dimension).nearest(characterId, vector, k, shortlist);
  }

  /** BM25 candidates of one character for an FTS5 MATCH expression, best first (bm25 is lower-is-better). */
  textCandidates(characterId: string, match: string, limit: number): { id: number; score: number }[] {
    return this.textSearchStatement.all(match, characterId, limit);
  }

  /** The chunks with these ids, in the order asked; ids that no longer exist are left out. */
  chunks(ids: readonly number[]): StoredScriptChunk[] {
    const found: StoredScriptChunk[] = [];
    for (const id of ids) {
      const row = this.chunkStatement.get(id);
      if (row) found.push(toChunk(row));
    }
    return found;
  }

  countChunks(characterId: string): number {
    return this.countChunksStatement.get(characterId)!.n;
  }

  /** Codes in a character's partition of a vector length's table (for checks and tests). */
  countVectors(characterId: string, dimension: number): number {
    const { name } = scriptVectorShape(dimension);
    if (!tableExists(this.db, name)) return 0;
    return this.db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM ${name} WHERE character_id = ?`).get(characterId)!.n;
  }

  /** Entries in the text index (it is shared by every character; contentless, so only a count is possible). */
  countTextEntries(): number {
    return this.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM script_text`).get()!.n;
  }

  private hasScriptTables(): boolean {
    return ['script_indexes', 'script_chunks', 'script_text'].every((name) => tableExists(this.db, name));
  }

  /** A vector length's table, created (with its cleanup trigger) on first use. */
  private vectors(dimension: number): VectorTable {
    let table = this.vectorTables.get(dimension);
    if (table) return table;
    const shape = scriptVectorShape(dimension);
    if (!tableExists(this.db, shape.name)) this.db.transaction(() => this.db.exec(vectorTableSql(shape)))();
    table = new VectorTable(this.db, shape);
    this.vectorTables.set(dimension, table);
    return table;
  }
}
