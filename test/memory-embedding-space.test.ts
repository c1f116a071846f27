import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../src/core/errors.js';
import type { Embedder } from '../src/llm/types.js';
import type { MemoryScopeKey, ReembedProgress } from '../src/memory/memory.js';
import { EmbeddingSpaceStore } from '../src/store/embedding-space-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';

let fixture: MemoryFixture;
let aki: MemoryScopeKey;
let bo: MemoryScopeKey;
const day = (n: number) => Date.UTC(2024, 4, n, 4);

beforeEach(() => {
  fixture = openMemoryFixture('omoide-spaces-');
  aki = { userId: fixture.user('aki'), characterId: 'juniper', guildId: null };
  bo = { userId: fixture.user('bo'), characterId: 'juniper', guildId: null };
});
afterEach(() => fixture.close());

const tables = () =>
  (fixture.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[])
    .map((row) => row.name)
    .filter((name) => /^memory_vectors_\d+$/.test(name));
const spaces = () => new EmbeddingSpaceStore(fixture.db).spaces().map(({ embedderId, dimension, state }) => ({ embedderId, dimension, state }));

async function seed(count: number) {
  const memory = fixture.memory(createTestEmbedder({ id: 'test:a', dimension: 64 }), { reembedBatchSize: 16 });
  await memory.ensureEmbeddingSpace();
  await memory.rememberMany(
    Array.from({ length: count }, (_, index) => ({
      scope: index % 2 === 0 ? aki : bo,
      kind: 'event' as const,
      content: index === 8 ? 'Aki’s cat 团子 learned to open the fridge' : `ordinary day number ${index} with weather notes`,
      occurredAt: day(1 + (index % 19)),
    })),
  );
  return memory;
}

describe('embedding spaces', () => {
  it('creates and activates a space on first start', async () => {
    const memory = fixture.memory(createTestEmbedder({ id: 'test:a', dimension: 64 }));
    const report = await memory.ensureEmbeddingSpace();
    expect(report).toMatchObject({ rebuilt: true, embedded: 0, space: { embedderId: 'test:a', dimension: 64, state: 'active' } });
    expect((await memory.ensureEmbeddingSpace()).rebuilt).toBe(false);
    expect(tables()).toHaveLength(1);
  });

  it('re-embeds every memory into a new space when the embedder changes, then drops the old table', async () => {
    const first = await seed(50);
    const [oldTable] = tables();
    const superseded = first.listForUser(bo)[0]!;
    await first.supersede(superseded.id, { content: 'an updated weather note' });

    const next = createTestEmbedder({ id: 'test:b', dimension: 32, salt: 7 });
    const memory = fixture.memory(next, { reembedBatchSize: 16 });
    const progress: ReembedProgress[] = [];
    const report = await memory.ensureEmbeddingSpace((event) => progress.push(event));
    expect(report).toMatchObject({ rebuilt: true, embedded: 51, space: { embedderId: 'test:b', dimension: 32, state: 'active' } });
    expect(progress[0]).toEqual({ embedderId: 'test:b', done: 0, total: 51 });
    expect(progress.at(-1)).toEqual({ embedderId: 'test:b', done: 51, total: 51 });
    expect(progress.map((event) => event.done)).toEqual([0, 16, 32, 48, 51]);
    expect(next.calls.flat()).toHaveLength(51);
    expect(tables()).not.toContain(oldTable);
    expect(tables()).toHaveLength(1);
    expect(spaces()).toEqual([
      { embedderId: 'test:a', dimension: 64, state: 'retired' },
      { embedderId: 'test:b', dimension: 32, state: 'active' },
    ]);
    expect(fixture.counts(tables()[0]).vectors).toBe(51);

    const hit = (await memory.search(aki, '团子 fridge')).memories[0]!;
    expect(hit.record.content).toBe('Aki’s cat 团子 learned to open the fridge');
    expect(hit.vectorRank).toBe(1);
    expect(hit.similarity).toBeGreaterThan(0.5);
    // the old embedder's facade no longer mixes its vectors in: text search only, and it may not write
    const stale = (await first.search(aki, '团子 fridge')).memories[0]!;
    expect(stale).toMatchObject({ vectorRank: null, textRank: 1 });
    await expect(first.remember({ scope: aki, kind: 'fact', content: 'x', occurredAt: day(1) })).rejects.toThrow(StoreError);
    // the new one writes into its space
    await memory.remember({ scope: aki, kind: 'fact', content: 'Aki is learning the cello', occurredAt: day(20) });
    expect(fixture.counts(tables()[0]).vectors).toBe(52);
  });

  it('resumes an interrupted re-embedding without redoing finished batches, and keeps serving meanwhile', async () => {
    await seed(40);
    const working = createTestEmbedder({ id: 'test:c', dimension: 48, salt: 3 });
    let batches = 0;
    const flaky: Embedder = {
      id: 'test:c',
      dimension: 48,
      async embed(texts, options) {
        if (++batches === 2) throw new Error('embedding server went away');
        return working.embed(texts, options);
      },
    };
    const interrupted = fixture.memory(flaky, { reembedBatchSize: 16 });
    await expect(interrupted.ensureEmbeddingSpace()).rejects.toThrow('embedding server went away');
    expect(spaces().map((space) => space.state)).toEqual(['active', 'building']);
    // while building, the old active space still answers for its own embedder
    const old = fixture.memory(createTestEmbedder({ id: 'test:a', dimension: 64 }));
    expect((await old.search(aki, '团子')).memories[0]).toMatchObject({ vectorRank: 1, record: { content: 'Aki’s cat 团子 learned to open the fridge' } });

    working.calls.length = 0;
    const resumed = fixture.memory(working, { reembedBatchSize: 16 });
    const report = await resumed.ensureEmbeddingSpace();
    expect(report.embedded).toBe(24);
    expect(working.calls.flat()).toHaveLength(24);
    expect(spaces()).toEqual([
      { embedderId: 'test:a', dimension: 64, state: 'retired' },
      { embedderId: 'test:c', dimension: 48, state: 'active' },
    ]);
    expect(fixture.counts(tables()[0]).vectors).toBe(40);
    expect(tables()).toHaveLength(1);
  });
});

describe('one transaction per logical write', () => {
  it('a vector failing after the row and text were written leaves nothing behind', async () => {
    const memory = fixture.memory(createTestEmbedder({ id: 'test:a', dimension: 64 }));
    await memory.ensureEmbeddingSpace();
    const [table] = tables();
    const spaceStore = new EmbeddingSpaceStore(fixture.db);
    const vectors = spaceStore.vectors(spaceStore.activeSpace()!);
    const store = new MemoryStore(fixture.db);
    const scopeId = new MemoryStore(fixture.db).ensureScope(aki.userId, 'juniper', '', day(1));
    const write = (vector: Float32Array) => ({
      memory: {
        scopeId, kind: 'fact' as const, content: 'Aki likes tea', occurredAt: day(1), day: '2024-05-01',
        importance: 0.5, strength: 1, sourceMessageIds: [], createdAt: day(1), private: false,
      },
      terms: 's1xtea',
      vector,
    });
    expect(() => store.insertMemories([write(new Float32Array(64).fill(0.125)), write(new Float32Array(3))], vectors)).toThrow(/[Dd]imension/);
    expect(fixture.counts(table)).toEqual({ memories: 0, text: 0, vectors: 0 });
    expect(() => store.supersede(12345, write(new Float32Array(64).fill(0.125)), vectors)).toThrow(/does not exist or was already superseded/);
    expect(fixture.counts(table)).toEqual({ memories: 0, text: 0, vectors: 0 });
  });

  it('a batch whose second memory cannot be written stores none of it', async () => {
    const memory = fixture.memory(createTestEmbedder({ id: 'test:a', dimension: 64 }));
    await memory.ensureEmbeddingSpace();
    const [table] = tables();
    await expect(
      memory.rememberMany([
        { scope: aki, kind: 'fact', content: 'Aki likes tea', occurredAt: day(1) },
        { scope: { userId: 999_999, characterId: 'juniper', guildId: null }, kind: 'fact', content: 'nobody', occurredAt: day(1) },
      ]),
    ).rejects.toThrow(/FOREIGN KEY/);
    expect(fixture.counts(table)).toEqual({ memories: 0, text: 0, vectors: 0 });
    expect(fixture.db.prepare('SELECT count(*) AS n FROM memory_scopes').get()).toEqual({ n: 0 });
  });
});
