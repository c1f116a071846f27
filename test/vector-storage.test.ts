import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemoryScopeKey } from '../src/memory/memory.js';
import { openDatabase } from '../src/store/db.js';
import { EmbeddingSpaceStore, vectorLayout } from '../src/store/embedding-space-store.js';
import { MemoryStore, type MemoryWrite } from '../src/store/memory-store.js';
import type { VectorTable } from '../src/store/vector-table.js';
import { seededRandom } from '../src/util/seeded-random.js';
import { codeBits, cosineWithHalfFloats, fromHalfFloats, simHashCode, toHalfFloats } from '../src/search/vector-code.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';


function unitVector(random: () => number, dimension: number): Float32Array {
  const vector = Float32Array.from({ length: dimension }, () => random() * 2 - 1);
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

const cosine = (left: Float32Array, right: Float32Array) => left.reduce((sum, value, index) => sum + value * right[index]!, 0);

function hamming(left: Uint8Array, right: Uint8Array): number {
  let differing = 0;
  for (let index = 0; index < left.length; index++) {
    let bits = left[index]! ^ right[index]!;
    for (; bits; bits &= bits - 1) differing++;
  }
  return differing;
}

describe('vector codes', () => {
  it('stores half floats exactly where they are representable and within half precision elsewhere', () => {
    const exact = Float32Array.from([0, 1, -2, 0.5, 0.25, 65504, -0.0009765625, 2 ** -24]);
    expect([...fromHalfFloats(toHalfFloats(exact))]).toEqual([...exact]);
    const bytes = toHalfFloats(Float32Array.from([1, -2]));
    expect([...bytes]).toEqual([0x00, 0x3c, 0x00, 0xc0]); // little-endian IEEE binary16
    const random = seededRandom(1);
    const values = Float32Array.from({ length: 1000 }, () => (random() * 2 - 1) * 0.4);
    fromHalfFloats(toHalfFloats(values)).forEach((value, index) => {
      expect(Math.abs(value - values[index]!)).toBeLessThanOrEqual(Math.abs(values[index]!) * 2 ** -11 + 2 ** -25);
    });
    const special = fromHalfFloats(toHalfFloats(Float32Array.from([1e6, -1e6, Number.NaN, 1e-9])));
    expect([...special.slice(0, 2)]).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(Number.isNaN(special[2])).toBe(true);
    expect(special[3]).toBe(0);
  });

  it('rounds half floats to nearest even', () => {
    // 1 + 2^-11 lies halfway between 1 and the next half float (1 + 2^-10): ties go to the even one, 1
    expect([...fromHalfFloats(toHalfFloats(Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11])))]).toEqual([1, 1 + 2 * 2 ** -10]);
  });

  it('scores cosine against stored half floats like the float vectors do', () => {
    const random = seededRandom(2);
    for (let trial = 0; trial < 50; trial++) {
      const query = unitVector(random, 384);
      const stored = unitVector(random, 384);
      expect(Math.abs(cosineWithHalfFloats(query, toHalfFloats(stored)) - cosine(query, stored))).toBeLessThan(1e-3);
    }
    expect(cosineWithHalfFloats(Float32Array.from([1, 0]), toHalfFloats(Float32Array.from([0, 0])))).toBe(0);
  });

  it('codes vectors so that the share of differing bits estimates the angle between them', () => {
    const random = seededRandom(5);
    for (const dimension of [48, 384, 768]) {
      const bits = codeBits(dimension);
      expect(bits % 8).toBe(0);
      expect(bits).toBeGreaterThanOrEqual(Math.max(2048, dimension));
      const vector = unitVector(random, dimension);
      expect(simHashCode(vector)).toHaveLength(bits / 8);
      // deterministic, and blind to length: a scaled copy has the same code; the opposite vector differs everywhere
      expect(hamming(simHashCode(vector), simHashCode(vector.map((value) => value * 3)))).toBe(0);
      expect(hamming(simHashCode(vector), simHashCode(vector.map((value) => -value)))).toBe(bits);
      for (let trial = 0; trial < 40; trial++) {
        const other = unitVector(random, dimension);
        // mix towards `vector` by a random amount, so angles from near 0 to near 90° are covered
        const mixed = vector.map((value, index) => value * trial * 0.05 + other[index]!);
        const angle = Math.acos(Math.min(1, cosine(vector, mixed) / Math.hypot(...mixed))) / Math.PI;
        expect(Math.abs(hamming(simHashCode(vector), simHashCode(mixed)) / bits - angle)).toBeLessThan(0.05);
      }
    }
  });

  it('codes sparse vectors (the builtin embedder) by angle too, so long texts are not pushed down', () => {
    // A query of 4 terms; a long text holding 3 of them among 8 terms, a short one holding 1 of them among 2: the long
    // one is nearer by cosine (0.53 against 0.35), and must stay nearer by code.
    const dimension = 384;
    const sparse = (entries: readonly [number, number][]) => {
      const vector = new Float32Array(dimension);
      for (const [index, value] of entries) vector[index] = value;
      const norm = Math.hypot(...vector);
      return vector.map((value) => value / norm);
    };
    const query = sparse([[1, 1], [2, 1], [3, 1], [4, 1]]);
    const long = sparse([[1, 1], [2, 1], [3, 1], ...Array.from({ length: 5 }, (_, index): [number, number] => [100 + index, 1])]);
    const short = sparse([[1, 1], [50, 1]]);
    expect(cosine(query, long)).toBeGreaterThan(cosine(query, short));
    expect(hamming(simHashCode(query), simHashCode(long))).toBeLessThan(hamming(simHashCode(query), simHashCode(short)));
  });
});

describe('memory vector storage', () => {
  let db: Database.Database;
  let store: MemoryStore;
  let spaces: EmbeddingSpaceStore;
  let directory: MemoryFixture;
  const dimension = 48;

  beforeEach(() => {
    directory = openMemoryFixture('omoide-vectors-');
    db = directory.db;
    store = new MemoryStore(db);
    spaces = new EmbeddingSpaceStore(db);
  });
  afterEach(() => directory.close());

  function fill(scopeId: number, vectors: readonly Float32Array[], table: VectorTable, kind: 'event' | 'portrait' = 'event') {
    const writes: MemoryWrite[] = vectors.map((vector, index) => ({
      memory: {
        scopeId, kind, content: `memory ${scopeId}/${index}`, occurredAt: Date.UTC(2024, 0, 1) + index, day: '2024-01-01',
        importance: 0.5, strength: 1, sourceMessageIds: [], createdAt: Date.UTC(2024, 0, 1), private: false,
      },
      terms: `s${scopeId}xmemory`,
      vector,
    }));
    return store.insertMemories(writes, table);
  }

  function space() {
    const created = spaces.createSpace('test:random', dimension, Date.UTC(2024, 0, 1));
    spaces.activateSpace(created.id);
    const active = spaces.activeSpace()!;
    return { ...active, table: spaces.vectors(active) };
  }

  it('re-scores the SimHash shortlist into the exact cosine order, within the scope only', () => {
    const { table, layout } = space();
    expect(layout).toBe(vectorLayout);
    const random = seededRandom(3);
    const alice = store.ensureScope(directory.user('alice'), 'juniper', '', 0);
    const bob = store.ensureScope(directory.user('bob'), 'juniper', '', 0);
    const aliceVectors = Array.from({ length: 300 }, () => unitVector(random, dimension));
    const aliceRows = fill(alice, aliceVectors, table);
    const query = unitVector(random, dimension);
    // Bob holds the query itself: the nearest vector in the table, and never Alice's to see.
    const [bobsCopy] = fill(bob, [query], table);

    const exact = aliceRows
      .map((row, index) => ({ id: row.id, distance: 1 - cosine(query, aliceVectors[index]!) }))
      .sort((left, right) => left.distance - right.distance);
    const everything = table.nearest(alice, query, 10, 300);
    expect(everything.map((row) => row.id)).toEqual(exact.slice(0, 10).map((row) => row.id));
    everything.forEach((row, index) => expect(row.distance).toBeCloseTo(exact[index]!.distance, 2));

    // A short shortlist still finds the best matches: the codes rank by angle, and the leaders survive it.
    const quick = table.nearest(alice, query, 5, 60);
    expect(quick.map((row) => row.id)).toEqual(exact.slice(0, 5).map((row) => row.id));
    expect(table.nearest(bob, query, 5, 60).map((row) => row.id)).toEqual([bobsCopy!.id]);
  });

  it('leaves portraits and forgotten memories out, and deletes a memory from both vector tables', () => {
    const { tableName, table } = space();
    const random = seededRandom(4);
    const scope = store.ensureScope(directory.user('carol'), 'juniper', '', 0);
    const query = unitVector(random, dimension);
    fill(scope, [query], table, 'portrait'); // the query itself, but a portrait: never a search result
    const [forgotten, kept] = fill(scope, [query, unitVector(random, dimension)], table);
    store.setForgotten([forgotten!.id], Date.UTC(2024, 1, 1));
    expect(table.nearest(scope, query, 5, 50).map((row) => row.id)).toEqual([kept!.id]);
    expect(directory.counts(tableName).vectors).toBe(3);
    store.deleteScope(scope);
    expect(directory.counts(tableName).vectors).toBe(0);
  });

  it("finds a scope's chunks through an index, not by reading every scope's", () => {
    const { tableName } = space();
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT chunk_id, validity, rowids FROM ${tableName}_chunks WHERE partition00 = ?`)
      .all(1) as { detail: string }[];
    expect(plan.map((step) => step.detail).join(' ')).toContain(`USING INDEX ${tableName}_chunks_by_partition`);
  });
});

describe('upgrading the vector layout', () => {
  let fixture: MemoryFixture;
  let aki: MemoryScopeKey;
  beforeEach(() => {
    fixture = openMemoryFixture('omoide-layout-');
    aki = { userId: fixture.user('aki'), characterId: 'juniper', guildId: null };
  });
  afterEach(() => fixture.close());

  it('rebuilds a space of the previous layout at start, keeping every memory searchable', async () => {
    const embedder = createTestEmbedder();
    const first = fixture.memory(embedder);
    await first.ensureEmbeddingSpace();
    await first.rememberMany(
      ['Aki adopted a cat called 团子', 'Aki went hiking on Sunday', 'Aki is learning the violin'].map((content, index) => ({
        scope: aki, kind: 'event' as const, content, occurredAt: Date.UTC(2024, 4, 1 + index),
      })),
    );
    await first.close();
    // A database written before layouts existed: schema version 40, no layout column (nor what came after it).
    fixture.db.exec(`
      ALTER TABLE embedding_spaces DROP COLUMN layout;
      DROP TRIGGER memories_backlog_cleanup; DROP TABLE memory_vector_backlog;
      ALTER TABLE memories DROP COLUMN private;
      PRAGMA user_version = 40;`);
    fixture.db.close();
    fixture.db = openDatabase(fixture.path);
    expect(new EmbeddingSpaceStore(fixture.db).activeSpace()).toMatchObject({ layout: 1, state: 'active' });

    const memory = fixture.memory(embedder);
    const report = await memory.ensureEmbeddingSpace();
    expect(report).toMatchObject({ rebuilt: true, embedded: 3, space: { layout: vectorLayout, state: 'active' } });
    const hit = (await memory.search(aki, 'cat 团子')).memories[0]!;
    expect(hit.record.content).toBe('Aki adopted a cat called 团子');
    expect(hit.vectorRank).toBe(1);
    expect(fixture.counts(report.space.tableName).vectors).toBe(3);
    const leftovers = fixture.db
      .prepare(`SELECT name FROM sqlite_master WHERE name LIKE 'memory_vectors%' AND name NOT LIKE ?`)
      .all(`${report.space.tableName}%`);
    expect(leftovers).toEqual([]);
  });
});
