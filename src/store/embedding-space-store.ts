/**
 * Embedding spaces: which embedder's vectors the memories are searched by, and their tables. Each space holds its
 * vectors in a table of its own (`memory_vectors_<space id>`, the layout of vector-table.ts, partitioned by memory
 * scope). At most one space is active; a new embedder (or layout) gets a 'building' space that memory re-embeds into
 * and then activates atomically, retiring and dropping the old one. All embedding-space SQL lives here.
 */
import { StoreError } from '../core/errors.js';
import type { SqliteDatabase } from './db.js';
import { recallable } from './memory-store.js';
import { dropVectorTableSql, VectorTable, vectorTableSql, type VectorTableShape } from './vector-table.js';

export type EmbeddingSpaceState = 'building' | 'active' | 'retired';

/**
 * How a space's vectors are stored. 1: one vec0 float column searched by cosine. 2: SimHash codes + half floats
 * (vector-table.ts). A space of an older layout is rebuilt like one of another embedder.
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

interface SpaceRow {
  id: number;
  embedder_id: string;
  dimension: number;
  layout: number;
  table_name: string;
  state: EmbeddingSpaceState;
  created_at: number;
}

const memoryVectorTable = /^memory_vectors_\d+$/;

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

/** The shape of a space's memory vector table: partitioned by scope, searching only recallable memories. */
function memoryVectorShape(tableName: string, dimension: number): VectorTableShape {
  if (!memoryVectorTable.test(tableName)) throw new StoreError(`"${tableName}" is not a memory vector table`);
  return {
    name: tableName,
    dimension,
    partitionColumn: 'scope_id',
    partitionType: 'integer',
    keyColumn: 'memory_id',
    ownerTable: 'memories',
    searchFilter: `r.scope_id = ? AND ${recallable('r')}`,
  };
}

export class EmbeddingSpaceStore {
  private readonly tables = new Map<string, VectorTable>();
  private readonly spacesStatement;
  private readonly insertSpaceStatement;
  private readonly setSpaceStateStatement;
  private readonly setSpaceTableStatement;
  private readonly deleteSpaceStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.spacesStatement = db.prepare<[], SpaceRow>(
      `SELECT id, embedder_id, dimension, layout, table_name, state, created_at FROM embedding_spaces ORDER BY id`,
    );
    this.insertSpaceStatement = db.prepare<[string, number, number, string, number], { id: number }>(`
      INSERT INTO embedding_spaces (embedder_id, dimension, layout, table_name, state, created_at)
      VALUES (?, ?, ?, ?, 'building', ?) RETURNING id`);
    this.setSpaceStateStatement = db.prepare<[EmbeddingSpaceState, number]>(`UPDATE embedding_spaces SET state = ? WHERE id = ?`);
    this.setSpaceTableStatement = db.prepare<[string, number]>(`UPDATE embedding_spaces SET table_name = ? WHERE id = ?`);
    this.deleteSpaceStatement = db.prepare<[number]>(`DELETE FROM embedding_spaces WHERE id = ?`);
  }

  spaces(): EmbeddingSpace[] {
    return this.spacesStatement.all().map(toSpace);
  }

  activeSpace(): EmbeddingSpace | null {
    return this.spaces().find((space) => space.state === 'active') ?? null;
  }

  /** A space's vector table (it must not be retired). */
  vectors(space: EmbeddingSpace): VectorTable {
    let table = this.tables.get(space.tableName);
    if (!table) {
      if (space.state === 'retired') throw new StoreError(`embedding space ${space.id} is retired; its vectors are gone`);
      table = new VectorTable(this.db, memoryVectorShape(space.tableName, space.dimension));
      this.tables.set(space.tableName, table);
    }
    return table;
  }

  /** A new 'building' space with its vector table. */
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
      this.db.exec(vectorTableSql(memoryVectorShape(tableName, dimension)));
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
        this.dropTable(space.tableName);
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
      if (space.state !== 'retired') this.dropTable(space.tableName);
      this.deleteSpaceStatement.run(spaceId);
    })();
  }

  private dropTable(tableName: string): void {
    if (!memoryVectorTable.test(tableName)) throw new StoreError(`"${tableName}" is not a memory vector table`);
    this.tables.delete(tableName);
    this.db.exec(dropVectorTableSql(tableName));
  }
}
