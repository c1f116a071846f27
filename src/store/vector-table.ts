/**
 * The one way vectors are stored, for memories and script scenes alike (the layout is search/vector-code.ts): a vec0
 * table of SimHash codes partitioned by the owner's partition (a memory scope, a character's script), so a search
 * reads only that partition, and a plain table of the vectors in half floats. A search shortlists the partition's
 * nearest codes by Hamming distance, keeps the shortlisted rows the owner's filter allows, and orders them by cosine
 * similarity with the stored vectors.
 *
 * A table belongs to one owner table (memories, script_chunks): vec0 rowid = the owner's row id, and a cleanup
 * trigger on the owner removes a row's code and vector with it. Rowids and integer partition keys are bound as
 * BigInt, as vec0 requires. Statements are prepared once per table.
 */
import type { Statement } from 'better-sqlite3';
import { StoreError } from '../core/errors.js';
import { codeBits, cosineWithHalfFloats, fromHalfFloats, simHashCode, toHalfFloats } from '../search/vector-code.js';
import type { SqliteDatabase } from './db.js';

/** How one vector table is laid out and whose rows it holds. Names come from code, never from input. */
export interface VectorTableShape {
  /** the vec0 table; the half floats live in `<name>_half` */
  readonly name: string;
  readonly dimension: number;
  /** the vec0 partition key column and its type */
  readonly partitionColumn: string;
  readonly partitionType: 'integer' | 'text';
  /** the `_half` table's key column (= the owner row's id) */
  readonly keyColumn: string;
  /** the owner table, whose `id` is every vector's rowid */
  readonly ownerTable: string;
  /**
   * Which shortlisted rows a search may return: a condition over the owner's row as `r`, with one `?` for the
   * partition (a second guard beside the partition itself), e.g. `r.scope_id = ? AND r.forgotten_at IS NULL`.
   */
  readonly searchFilter: string;
}

export interface VectorHit {
  readonly id: number;
  /** cosine distance, 0 (same direction) to 2 */
  readonly distance: number;
}

/** vec0 refuses a larger k. */
export const maxShortlist = 4096;
const maxDimension = 8192;
const identifier = /^[a-z_][a-z0-9_]*$/;

type Partition = number | string;

/** The SQL that creates a table of this shape, its partition index and its cleanup trigger. */
export function vectorTableSql(shape: VectorTableShape): string {
  checkShape(shape);
  const { name, partitionColumn, partitionType, keyColumn, ownerTable, dimension } = shape;
  // vec0 finds a partition's chunks with "WHERE partition00 = ?" on its _chunks table, which it does not index:
  // without the index every search reads every partition's chunk rows, and that grows with the number of people.
  return `
    CREATE VIRTUAL TABLE ${name} USING vec0(
      ${partitionColumn} ${partitionType} partition key,
      code bit[${codeBits(dimension)}]
    );
    CREATE INDEX ${name}_chunks_by_partition ON ${name}_chunks (partition00);
    CREATE TABLE ${name}_half (
      ${keyColumn} INTEGER PRIMARY KEY,
      embedding BLOB NOT NULL
    );
    CREATE TRIGGER ${name}_cleanup AFTER DELETE ON ${ownerTable} BEGIN
      DELETE FROM ${name} WHERE rowid = old.id;
      DELETE FROM ${name}_half WHERE ${keyColumn} = old.id;
    END;`;
}

/** The SQL that drops a table of this shape with everything vectorTableSql made. */
export function dropVectorTableSql(name: string): string {
  if (!identifier.test(name)) throw new StoreError(`"${name}" is not a vector table name`);
  return `DROP TRIGGER IF EXISTS ${name}_cleanup; DROP TABLE IF EXISTS ${name}; DROP TABLE IF EXISTS ${name}_half;`;
}

function checkShape(shape: VectorTableShape): void {
  for (const name of [shape.name, shape.partitionColumn, shape.keyColumn, shape.ownerTable]) {
    if (!identifier.test(name)) throw new StoreError(`"${name}" is not a usable SQL name for a vector table`);
  }
  if (!Number.isInteger(shape.dimension) || shape.dimension <= 0 || shape.dimension > maxDimension) {
    throw new StoreError(`${shape.name}: ${shape.dimension} is not a usable vector length (1 to ${maxDimension})`);
  }
}

export class VectorTable {
  readonly dimension: number;
  private readonly insertCode: Statement<[bigint, Partition | bigint, Uint8Array]>;
  private readonly insertHalf: Statement<[number, Uint8Array]>;
  private readonly getStatement: Statement<[number], { embedding: Buffer }>;
  private readonly shortlistStatement: Statement<[Uint8Array, number, Partition | bigint, Partition], { id: number; embedding: Buffer }>;

  constructor(
    db: SqliteDatabase,
    private readonly shape: VectorTableShape,
  ) {
    checkShape(shape);
    const { name, partitionColumn, keyColumn, ownerTable, searchFilter } = shape;
    this.dimension = shape.dimension;
    this.insertCode = db.prepare(`INSERT INTO ${name} (rowid, ${partitionColumn}, code) VALUES (?, ?, vec_bit(?))`);
    this.insertHalf = db.prepare(`INSERT INTO ${name}_half (${keyColumn}, embedding) VALUES (?, ?)`);
    this.getStatement = db.prepare(`SELECT embedding FROM ${name}_half WHERE ${keyColumn} = ?`);
    this.shortlistStatement = db.prepare(`
      WITH shortlist AS MATERIALIZED (
        SELECT rowid FROM ${name} WHERE code MATCH vec_bit(?) AND k = ? AND ${partitionColumn} = ?
      )
      SELECT r.id AS id, stored.embedding AS embedding
      FROM shortlist
      JOIN ${name}_half stored ON stored.${keyColumn} = shortlist.rowid
      JOIN ${ownerTable} r ON r.id = shortlist.rowid
      WHERE ${searchFilter}`);
  }

  get name(): string {
    return this.shape.name;
  }

  /** Stores a row's code and vector (call inside the transaction that writes the row). */
  insert(id: number, partition: Partition, vector: Float32Array): void {
    if (vector.length !== this.dimension) {
      throw new StoreError(`${this.shape.name}: row ${id} has a vector of ${vector.length} dimensions, expected ${this.dimension}`);
    }
    this.insertCode.run(BigInt(id), this.bind(partition), simHashCode(vector));
    this.insertHalf.run(id, toHalfFloats(vector));
  }

  has(id: number): boolean {
    return this.getStatement.get(id) !== undefined;
  }

  /** The stored vectors of the rows among `ids` that have one. */
  vectorsOf(ids: readonly number[]): Map<number, Float32Array> {
    const found = new Map<number, Float32Array>();
    for (const id of ids) {
      const row = this.getStatement.get(id);
      if (row) found.set(id, fromHalfFloats(row.embedding));
    }
    return found;
  }

  /**
   * The partition's rows nearest to `query`, best first, at most `k`, among those the search filter allows: the
   * `shortlist` nearest SimHash codes (never fewer than k), re-scored by cosine with the stored vectors. Rows are
   * filtered after the shortlist, so callers over-fetch a little.
   */
  nearest(partition: Partition, query: Float32Array, k: number, shortlist = k): VectorHit[] {
    const codes = Math.min(maxShortlist, Math.max(1, k, shortlist));
    return this.shortlistStatement
      .all(simHashCode(query), codes, this.bind(partition), partition)
      .map((row) => ({ id: row.id, distance: 1 - cosineWithHalfFloats(query, row.embedding) }))
      .sort((left, right) => left.distance - right.distance)
      .slice(0, Math.max(1, k));
  }

  private bind(partition: Partition): Partition | bigint {
    return this.shape.partitionType === 'integer' ? BigInt(partition) : partition;
  }
}
