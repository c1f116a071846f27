import { renameSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemoryScopeKey } from '../src/memory/memory.js';
import { queryExpression } from '../src/search/terms.js';
import { openDatabase } from '../src/store/db.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { createTextSearch, type TextSearch } from '../src/store/text-search.js';
import type { Logger } from '../src/util/logger.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';

let fixture: MemoryFixture;
let aki: MemoryScopeKey;
let searches: TextSearch[];
const warnings: string[] = [];
const logger: Logger = {
  debug() {}, info() {}, error() {},
  warn: (message) => void warnings.push(message),
  child: () => logger,
};
const day = (n: number) => Date.UTC(2024, 4, n, 4);

beforeEach(async () => {
  fixture = openMemoryFixture('omoide-text-search-');
  aki = { userId: fixture.user('aki'), characterId: 'juniper', guildId: null };
  searches = [];
  warnings.length = 0;
  const memory = fixture.memory(createTestEmbedder());
  await memory.ensureEmbeddingSpace();
  await memory.rememberMany(
    Array.from({ length: 40 }, (_, index) => ({
      scope: aki,
      kind: 'event' as const,
      content: index % 5 === 0 ? `walked the dog 团子 to the river, day ${index}` : `a quiet day ${index} reading at home`,
      occurredAt: day(1 + (index % 20)),
    })),
  );
});
afterEach(async () => {
  await Promise.all(searches.map((search) => search.close()));
  await fixture.close();
});

function textSearch(db = fixture.db): { search: TextSearch; store: MemoryStore } {
  const store = new MemoryStore(db);
  const search = createTextSearch(db, store, logger);
  searches.push(search);
  return { search, store };
}

const scopeOf = () => fixture.memory(createTestEmbedder()).findScopeId(aki)!;

describe('text search on its own thread', () => {
  it('answers exactly what the main thread would, from the worker', async () => {
    const { search, store } = textSearch();
    const scopeId = scopeOf();
    expect(search.threaded()).toBe(true);
    for (const question of ['团子 river', 'reading at home', 'dog day 15']) {
      const match = queryExpression(scopeId, question)!;
      const inline = store.textCandidates(scopeId, match, 10);
      expect(inline.length).toBeGreaterThan(0);
      expect(await search.candidates(scopeId, match, 10)).toEqual(inline);
    }
    const range = { from: '2024-05-05', to: '2024-05-09' };
    const match = queryExpression(scopeId, 'day')!;
    expect(await search.candidates(scopeId, match, 50, range)).toEqual(store.textCandidates(scopeId, match, 50, range));
    expect(search.threaded()).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('sees a memory the main thread committed just before', async () => {
    const { search } = textSearch();
    const scopeId = scopeOf();
    const match = queryExpression(scopeId, 'lighthouse')!;
    expect(await search.candidates(scopeId, match, 5)).toEqual([]);
    const written = await fixture.memory(createTestEmbedder()).remember({
      scope: aki, kind: 'fact', content: 'Aki once lived next to a lighthouse', occurredAt: day(21),
    });
    expect((await search.candidates(scopeId, match, 5)).map((row) => row.id)).toEqual([written.id]);
  });

  it('falls back to the main thread when the worker cannot open the database, and still answers', async () => {
    const { search, store } = textSearch();
    const scopeId = scopeOf();
    const match = queryExpression(scopeId, '团子')!;
    const expected = store.textCandidates(scopeId, match, 10);
    // The main connection keeps its open file; a new connection to the path finds nothing there.
    renameSync(fixture.path, `${fixture.path}.moved`);
    expect(await search.candidates(scopeId, match, 10)).toEqual(expected);
    expect(search.threaded()).toBe(false);
    expect(warnings.some((message) => message.includes('searching on the main thread'))).toBe(true);
    expect(await search.candidates(scopeId, match, 10)).toEqual(expected);
    renameSync(`${fixture.path}.moved`, fixture.path);
  });

  it('runs inline for an in-memory database and after close()', async () => {
    const memoryDb = openDatabase(':memory:');
    try {
      expect(textSearch(memoryDb).search.threaded()).toBe(false);
    } finally {
      memoryDb.close();
    }
    const { search, store } = textSearch();
    const scopeId = scopeOf();
    const match = queryExpression(scopeId, 'river')!;
    await search.candidates(scopeId, match, 3);
    await search.close();
    expect(search.threaded()).toBe(false);
    expect(await search.candidates(scopeId, match, 3)).toEqual(store.textCandidates(scopeId, match, 3));
  });
});
