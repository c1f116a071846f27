import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Character } from '../src/characters/character.js';
import { loadCharacter } from '../src/characters/load-characters.js';
import { createScriptIndex } from '../src/characters/script-index.js';
import { embedInBatches, indexMatches, readChunkText } from '../src/characters/script-indexer.js';
import { candidateDepth, createScriptSearch, scriptShortlist } from '../src/characters/script-search.js';
import { StoreError } from '../src/core/errors.js';
import { LlmError } from '../src/llm/types.js';
import type { Embedder } from '../src/llm/types.js';
import { createBuiltinEmbedder } from '../src/llm/builtin/ngram-embedder.js';
import type { SqliteDatabase } from '../src/store/db.js';
import { openDatabase, schemaVersion } from '../src/store/db.js';
import { migrations } from '../src/store/migrations/index.js';
import { ScriptStore } from '../src/store/script-store.js';
import { reciprocalRank } from '../src/search/fusion.js';
import { documentTerms } from '../src/search/terms.js';
import { createLogger, logToFile, logToStderr } from '../src/util/logger.js';
import { seededRandom } from '../src/util/seeded-random.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'scripts');

/** The builtin embedder, counting calls and texts; `failOnCall` makes that call (1-based) throw. */
function countingEmbedder(options: { dimension?: number; failOnCall?: number } = {}) {
  const inner = createBuiltinEmbedder(options.dimension ? { dimension: options.dimension } : {});
  const counts = { calls: 0, texts: 0, documentCalls: 0 };
  const embedder: Embedder = {
    id: inner.id,
    dimension: inner.dimension,
    async embed(texts, embedOptions) {
      counts.calls++;
      counts.texts += texts.length;
      if (embedOptions?.purpose === 'document') counts.documentCalls++;
      if (counts.calls === options.failOnCall) throw new LlmError('embedder went away', 'test', 'connection', true);
      return inner.embed(texts, embedOptions);
    },
  };
  return { embedder, counts };
}

let directory: string;
let db: SqliteDatabase;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-scripts-'));
  cpSync(fixtures, join(directory, 'characters'), { recursive: true });
  logToFile(join(directory, 'test.log'));
  db = openDatabase(join(directory, 'omoide.db'));
});
afterEach(() => {
  db.close();
  logToStderr();
  rmSync(directory, { recursive: true, force: true });
});

const load = (id: string): Character => loadCharacter(join(directory, 'characters', id));
const chunkIds = (characterId: string) =>
  (db.prepare('SELECT id FROM script_chunks WHERE character_id = ? ORDER BY id').all(characterId) as { id: number }[]).map((row) => row.id);

/** Every code of a vector table has its half-float vector and no vector outlives its code: they come and go together. */
function expectCodesAndVectorsTogether(dimension: number): void {
  const table = `script_codes_${dimension}`;
  if (db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = ?`).pluck().get(table) === 0) return;
  const codes = db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
  expect(db.prepare(`SELECT count(*) FROM ${table}_half`).pluck().get(), `${table}: stored vectors beside ${codes} codes`).toBe(codes);
}

function snapshot(characterId: string, dimension = 384) {
  const store = new ScriptStore(db);
  expectCodesAndVectorsTogether(dimension);
  return {
    state: store.state(characterId),
    chunks: db.prepare('SELECT ordinal, file, text FROM script_chunks WHERE character_id = ? ORDER BY ordinal').all(characterId),
    vectors: store.countVectors(characterId, dimension),
    textEntries: store.countTextEntries(),
  };
}

describe('migration 30', () => {
  it('sits between memories and consolidation, and a fresh database gets its tables', () => {
    const versions = migrations.map((migration) => migration.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions).toContain(30);
    expect(schemaVersion(db)).toBe(versions.at(-1));
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE name LIKE 'script%'`).all() as { name: string }[]).map((row) => row.name);
    expect(tables).toEqual(expect.arrayContaining(['script_indexes', 'script_chunks', 'script_text']));
  });

  it('gives a database that skipped it (created at 40 before 30 existed) its tables on first use', async () => {
    db.exec('DROP TABLE script_chunks; DROP TABLE script_indexes; DROP TABLE script_text;');
    db.close();
    db = openDatabase(join(directory, 'omoide.db'));
    // reopening runs only the migrations above 40: migration 30 is not run again
    expect(schemaVersion(db)).toBeGreaterThan(40);
    expect(db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'script_chunks'`).get()).toEqual({ n: 0 });
    const index = createScriptIndex({ db, embedder: countingEmbedder().embedder });
    expect(await index.ensureIndexed(load('mira'))).toEqual({ indexed: true, chunks: 5 });
  });
});

describe('script index', () => {
  it('indexes once: a second ensureIndexed embeds nothing', async () => {
    const { embedder, counts } = countingEmbedder();
    const index = createScriptIndex({ db, embedder, batchSize: 4 });
    const xia = load('xia');
    const progress: [number, number][] = [];
    expect(await index.ensureIndexed(xia, (done, total) => progress.push([done, total]))).toEqual({ indexed: true, chunks: 6 });
    // 6 chunks in batches of 4: two embed calls, progress at 0, after each batch
    expect(counts).toMatchObject({ calls: 2, texts: 6, documentCalls: 2 });
    expect(progress).toEqual([[0, 6], [4, 6], [6, 6]]);
    expect(snapshot('xia')).toMatchObject({ vectors: 6, textEntries: 6, state: { chunkCount: 6, embedderId: embedder.id, scriptHash: xia.script!.hash } });

    expect(await index.ensureIndexed(load('xia'))).toEqual({ indexed: false, chunks: 6 });
    expect(index.isCurrent(xia)).toBe(true);
    // a fresh index object over the same database (a restart) finds it current too
    const again = createScriptIndex({ db, embedder });
    expect(await again.ensureIndexed(load('xia'))).toEqual({ indexed: false, chunks: 6 });
    expect(counts.calls).toBe(2);
  });

  it('concurrent ensureIndexed calls for one character embed it once', async () => {
    const { embedder, counts } = countingEmbedder();
    const index = createScriptIndex({ db, embedder });
    const results = await Promise.all([index.ensureIndexed(load('mira')), index.ensureIndexed(load('mira'))]);
    expect(results.map((result) => result.indexed).sort()).toEqual([false, true]);
    expect(counts.documentCalls).toBe(1);
  });

  it('re-indexes when the script changes, and only then', async () => {
    const { embedder, counts } = countingEmbedder();
    const index = createScriptIndex({ db, embedder });
    await index.ensureIndexed(load('mira'));
    writeFileSync(join(directory, 'characters', 'mira', 'script', 'texts', 'scene_6.txt'), 'Mira:「The train to the city leaves at dawn.」\n');
    const changed = load('mira');
    expect(index.isCurrent(changed)).toBe(false);
    expect(await index.ensureIndexed(changed)).toEqual({ indexed: true, chunks: 6 });
    expect(counts.documentCalls).toBe(2);
    const after = snapshot('mira');
    expect(after.state!.scriptHash).toBe(changed.script!.hash);
    expect(after.vectors).toBe(6);
    // the old rows, their terms and vectors are gone, not kept beside the new ones
    expect(after.textEntries).toBe(6);
    expect((after.chunks as { file: string }[]).map((chunk) => chunk.file)).toEqual(['scene_1.txt', 'scene_2.txt', 'scene_3.txt', 'scene_4.txt', 'scene_5.txt', 'scene_6.txt']);
    expect(new Set(chunkIds('mira')).size).toBe(6);
    const hits = await index.search('mira', 'Tom:「When does the train to the city leave?」', { limit: 1 });
    expect(hits[0]?.file).toBe('scene_6.txt');
  });

  it('re-indexes when the embedder changes, moving the vectors to the new length', async () => {
    const first = countingEmbedder();
    await createScriptIndex({ db, embedder: first.embedder }).ensureIndexed(load('xia'));
    const second = countingEmbedder({ dimension: 64 });
    const index = createScriptIndex({ db, embedder: second.embedder });
    expect(index.isCurrent(load('xia'))).toBe(false);
    expect(await index.ensureIndexed(load('xia'))).toEqual({ indexed: true, chunks: 6 });
    expect(second.counts.texts).toBe(6);
    const store = new ScriptStore(db);
    expect(store.countVectors('xia', 384)).toBe(0);
    expect(store.countVectors('xia', 64)).toBe(6);
    expect(store.state('xia')).toMatchObject({ embedderId: 'builtin:ngram-v1:64', dimension: 64 });
    expectCodesAndVectorsTogether(384);
    expectCodesAndVectorsTogether(64);
  });

  it('finds the relevant chunk in Chinese (1-2 character terms too) and in English', async () => {
    const { embedder } = countingEmbedder();
    const index = createScriptIndex({ db, embedder });
    await index.ensureAll([load('xia'), load('mira')]);
    const cases: [string, string, string][] = [
      ['xia', '阿哲:「你喜欢猫吗？」', 'text_2.txt'],
      ['xia', '阿哲:「明天要考数学了。」', 'text_3.txt'],
      ['xia', '阿哲:「外面下雨了，你带伞了吗？」', 'text_4.txt'],
      ['xia', '阿哲:「晚饭吃拉面吧」', 'text_5.txt'],
      ['xia', '阿哲:「黑洞是什么？」', 'text_6.txt'],
      ['mira', 'Tom:「Can you teach me to bake bread?」', 'scene_3.txt'],
      ['mira', 'Tom:「Want to play chess tonight?」', 'scene_4.txt'],
      ['mira', 'Tom:「Is a storm coming?」', 'scene_2.txt'],
      ['mira', 'Tom:「Who played the violin?」', 'scene_5.txt'],
    ];
    for (const [characterId, query, file] of cases) {
      const hits = await index.search(characterId, query, { limit: 3 });
      expect(hits[0]?.file, `${characterId}: ${query}`).toBe(file);
      expect(hits[0]!.text).toBe(hits[0]!.text.trim());
      expect(hits[0]!.tokens).toBeGreaterThan(0);
      expect(hits.map((hit) => hit.score)).toEqual([...hits.map((hit) => hit.score)].sort((a, b) => b - a));
    }
    // a single Chinese character is a term of its own: text search alone can find it
    const textOnly = createScriptIndex({ db, embedder: countingEmbedder({ dimension: 32 }).embedder });
    expect((await textOnly.search('xia', '猫', { limit: 1 }))[0]?.file).toBe('text_2.txt');
  });

  it('never returns another character’s chunks', async () => {
    const { embedder } = countingEmbedder();
    const index = createScriptIndex({ db, embedder });
    // a third character whose script repeats Mira's words exactly
    cpSync(join(directory, 'characters', 'mira'), join(directory, 'characters', 'twin'), { recursive: true });
    await index.ensureAll([load('xia'), load('mira'), load('twin')]);
    const own = { xia: chunkIds('xia'), mira: chunkIds('mira'), twin: chunkIds('twin') };
    for (const query of ['Mira:「the lighthouse lens」', '夏雨:「流星雨和外星人」', 'storm bread chess violin 猫 拉面']) {
      for (const characterId of ['xia', 'mira', 'twin'] as const) {
        const hits = await index.search(characterId, query, { limit: 10 });
        expect(hits.length).toBeGreaterThan(0);
        for (const hit of hits) expect(own[characterId]).toContain(hit.chunkId);
      }
    }
    expect(await index.search('plain', 'anything', { limit: 5 })).toEqual([]);
  });

  it('leaves nothing half-written when the embedder fails mid-way', async () => {
    // a new character: no index row, no chunk, no term, no vector
    const failing = countingEmbedder({ failOnCall: 2 });
    const index = createScriptIndex({ db, embedder: failing.embedder, batchSize: 2 });
    await expect(index.ensureIndexed(load('xia'))).rejects.toThrow('embedder went away');
    expect(snapshot('xia')).toEqual({ state: null, chunks: [], vectors: 0, textEntries: 0 });

    // a changed script: the previous index stays exactly as it was
    const good = countingEmbedder();
    await createScriptIndex({ db, embedder: good.embedder }).ensureIndexed(load('mira'));
    const before = snapshot('mira');
    writeFileSync(join(directory, 'characters', 'mira', 'script', 'texts', 'scene_1.txt'), 'Mira:「Rewritten.」\n');
    const failAgain = countingEmbedder({ failOnCall: 3 });
    await expect(createScriptIndex({ db, embedder: failAgain.embedder, batchSize: 2 }).ensureIndexed(load('mira'))).rejects.toThrow(LlmError);
    expect(snapshot('mira')).toEqual(before);
  });

  it('rolls the whole write back when the store refuses a row half-way', async () => {
    const good = countingEmbedder();
    await createScriptIndex({ db, embedder: good.embedder }).ensureIndexed(load('mira'));
    const before = snapshot('mira');
    // an embedder whose 4th vector has the wrong length: rows 1-3 are written inside the transaction, then it fails
    const inner = createBuiltinEmbedder();
    const broken: Embedder = {
      id: 'test:broken',
      dimension: 384,
      async embed(texts, options) {
        const vectors = await inner.embed(texts, options);
        if (vectors.length > 3) vectors[3] = new Float32Array(5);
        return vectors;
      },
    };
    const refused = createScriptIndex({ db, embedder: broken }).ensureIndexed(load('mira'));
    // the error names the vector table and the chunk's file
    await expect(refused).rejects.toThrow(/^script_codes_384: chunk scene_4\.txt of mira has a vector of 5 values, expected 384$/);
    await expect(refused).rejects.toBeInstanceOf(StoreError);
    expect(snapshot('mira')).toEqual(before);
  });

  it('removes the index of a character whose script is gone, and on remove()', async () => {
    const { embedder } = countingEmbedder();
    const index = createScriptIndex({ db, embedder });
    await index.ensureAll([load('xia'), load('mira')]);
    rmSync(join(directory, 'characters', 'mira', 'script'), { recursive: true });
    const withoutScript = load('mira');
    expect(withoutScript.script).toBeNull();
    expect(index.isCurrent(withoutScript)).toBe(false);
    expect(await index.ensureIndexed(withoutScript)).toEqual({ indexed: false, chunks: 0 });
    expect(snapshot('mira').state).toBeNull();
    expect(new ScriptStore(db).countVectors('mira', 384)).toBe(0);
    expect(new ScriptStore(db).countTextEntries()).toBe(6); // xia's are still there
    expect(index.remove('xia')).toBe(true);
    expect(index.remove('xia')).toBe(false);
    expect(snapshot('xia')).toEqual({ state: null, chunks: [], vectors: 0, textEntries: 0 });
  });

  it('ensureAll reports a character it could not index and goes on with the others', async () => {
    const { embedder } = countingEmbedder();
    const index = createScriptIndex({ db, embedder });
    const xia = load('xia');
    // the file disappears after the catalog loaded the character
    rmSync(join(directory, 'characters', 'xia', 'script', 'texts', 'text_3.txt'));
    const progress: string[] = [];
    const results = await index.ensureAll([xia, load('mira'), load('plain')], (id, done, total) => progress.push(`${id} ${done}/${total}`));
    expect(results.map(({ characterId, indexed, chunks }) => ({ characterId, indexed, chunks }))).toEqual([
      { characterId: 'xia', indexed: false, chunks: 0 },
      { characterId: 'mira', indexed: true, chunks: 5 },
      { characterId: 'plain', indexed: false, chunks: 0 },
    ]);
    expect(results[0]!.error?.message).toMatch(/text_3\.txt: cannot read the file/);
    expect(progress).toEqual(['mira 0/5', 'mira 5/5']);
  });
});

describe('script indexer, alone', () => {
  it('embeds in batches, in order, reporting progress from 0', async () => {
    const { embedder, counts } = countingEmbedder();
    const progress: [number, number][] = [];
    const texts = ['一', 'two', '三', 'four', '五'];
    const vectors = await embedInBatches(embedder, texts, 2, (done, total) => progress.push([done, total]));
    expect(vectors).toEqual(await embedder.embed(texts, { purpose: 'document' }));
    expect(counts.documentCalls).toBe(4); // three batches, then the comparison's one call
    expect(progress).toEqual([[0, 5], [2, 5], [4, 5], [5, 5]]);
  });

  it('refuses an embedder that answers a batch with the wrong number of vectors', async () => {
    const short: Embedder = { id: 'test:short', dimension: 3, embed: async (texts) => texts.slice(1).map(() => new Float32Array(3)) };
    const refused = embedInBatches(short, ['a', 'b'], 8);
    await expect(refused).rejects.toThrow('the embedder test:short returned 1 vectors for 2 texts');
    await expect(refused).rejects.toMatchObject({ kind: 'bad-response', retryable: false });
  });

  it('calls an index current only for the same script, embedder and length; a character without a script wants none', () => {
    const { embedder } = countingEmbedder();
    const xia = load('xia');
    const state = {
      key: 1, characterId: 'xia', scriptHash: xia.script!.hash, embedderId: embedder.id, dimension: embedder.dimension, chunkCount: 6, indexedAt: 0,
    };
    expect(indexMatches(state, xia, embedder)).toBe(true);
    expect(indexMatches(null, xia, embedder)).toBe(false);
    expect(indexMatches({ ...state, scriptHash: 'older' }, xia, embedder)).toBe(false);
    expect(indexMatches({ ...state, embedderId: 'other' }, xia, embedder)).toBe(false);
    expect(indexMatches({ ...state, dimension: 64 }, xia, embedder)).toBe(false);
    expect(indexMatches(null, load('plain'), embedder)).toBe(true);
    expect(indexMatches(state, load('plain'), embedder)).toBe(false);
  });
});

describe('script search, alone', () => {
  it('asks the store for deep lists and a wide shortlist, and fuses them by reciprocal rank', async () => {
    const { embedder } = countingEmbedder();
    await createScriptIndex({ db, embedder }).ensureIndexed(load('xia'));
    const store = new ScriptStore(db);
    const vectorCandidates = vi.spyOn(store, 'vectorCandidates');
    const textCandidates = vi.spyOn(store, 'textCandidates');
    const { search } = createScriptSearch({ store, embedder, logger: createLogger('test') });

    const hits = await search('xia', '阿哲:「你喜欢猫吗？」', { limit: 32 });
    expect(candidateDepth(32)).toBe(96);
    expect(scriptShortlist(96)).toBe(200);
    expect(vectorCandidates).toHaveBeenCalledWith('xia', 384, expect.any(Float32Array), 96, 200);
    const byVector = vectorCandidates.mock.results[0]!.value as { id: number }[];
    const byText = textCandidates.mock.results[0]!.value as { id: number }[];
    expect(textCandidates.mock.calls[0]![2]).toBe(96);
    // each hit's score is what its two ranks give (fusion.ts), and the hits come best first
    const rankIn = (list: readonly { id: number }[], id: number) => list.findIndex((hit) => hit.id === id) + 1;
    const expected = (id: number) =>
      [rankIn(byVector, id), rankIn(byText, id)].reduce((sum, rank) => (rank === 0 ? sum : sum + reciprocalRank(rank)), 0);
    expect(hits).toHaveLength(6);
    for (const hit of hits) expect(hit.score).toBeCloseTo(expected(hit.chunkId), 12);
    expect(hits[0]!.file).toBe('text_2.txt');
  });

  it('shortlists twice the candidates, and never fewer than a small script holds', () => {
    expect(scriptShortlist(1)).toBe(200);
    expect(scriptShortlist(96)).toBe(200);
    expect(scriptShortlist(150)).toBe(300);
    expect(candidateDepth(1)).toBe(30);
    expect(candidateDepth(100_000)).toBe(4096);
  });
});

describe('script vector storage', () => {
  const dimension = 48;

  function unitVector(random: () => number): Float32Array {
    const vector = Float32Array.from({ length: dimension }, () => random() * 2 - 1);
    const norm = Math.hypot(...vector);
    return vector.map((value) => value / norm);
  }

  function write(store: ScriptStore, characterId: string, vectors: readonly Float32Array[]): number[] {
    store.replace({
      characterId, scriptHash: 'h', embedderId: 'test:random', dimension, indexedAt: 0,
      chunks: vectors.map((vector, index) => ({ file: `text_${index}.txt`, text: `chunk ${index}`, tokenCount: 2, terms: ['chunk'], vector })),
    });
    return chunkIds(characterId);
  }

  it('re-scores the SimHash shortlist into the exact cosine order, inside one character only', () => {
    const store = new ScriptStore(db);
    const random = seededRandom(7);
    const vectors = Array.from({ length: 600 }, () => unitVector(random));
    const ids = write(store, 'xia', vectors);
    const query = unitVector(random);
    // Mira's script holds the query itself: the nearest vector of the table, and never Xia's to see.
    const [mirasCopy] = write(store, 'mira', [query]);
    const cosine = (vector: Float32Array) => vector.reduce((sum, value, index) => sum + value * query[index]!, 0);
    const exact = ids.map((id, index) => ({ id, similarity: cosine(vectors[index]!) })).sort((a, b) => b.similarity - a.similarity);

    const everything = store.vectorCandidates('xia', dimension, query, 10, 600);
    expect(everything.map((hit) => hit.id)).toEqual(exact.slice(0, 10).map((hit) => hit.id));
    const shortlisted = store.vectorCandidates('xia', dimension, query, 10, scriptShortlist(10));
    expect(shortlisted.map((hit) => hit.id)).toEqual(exact.slice(0, 10).map((hit) => hit.id));
    expect(store.vectorCandidates('mira', dimension, query, 5, scriptShortlist(5)).map((hit) => hit.id)).toEqual([mirasCopy]);
    expect(store.countVectors('xia', dimension)).toBe(600);
    expectCodesAndVectorsTogether(dimension);

    store.remove('xia');
    expect(store.countVectors('xia', dimension)).toBe(0);
    expect(store.countVectors('mira', dimension)).toBe(1);
    expectCodesAndVectorsTogether(dimension);
  });

  it("finds a character's codes through an index, not by reading every character's", () => {
    write(new ScriptStore(db), 'xia', [unitVector(seededRandom(8))]);
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT chunk_id, validity, rowids FROM script_codes_${dimension}_chunks WHERE partition00 = ?`)
      .all('xia') as { detail: string }[];
    expect(plan.map((step) => step.detail).join(' ')).toContain(`USING INDEX script_codes_${dimension}_chunks_by_partition`);
  });
});

describe('migration 80: script vectors on the one layout', () => {
  const tableNames = (pattern: string) =>
    (db.prepare(`SELECT name FROM sqlite_master WHERE name LIKE ? ORDER BY name`).all(pattern) as { name: string }[]).map((row) => row.name);

  /**
   * Xia's script indexed as the build before 0080 wrote it — float vectors in script_vectors_384, cosine, with its
   * cleanup trigger — for this very script and embedder, so by every recorded field the index looks current.
   */
  async function writeFloatLayoutIndex(embedder: Embedder, xia: Character): Promise<void> {
    const script = xia.script!;
    const texts = script.chunkFiles.map((file) => readChunkText(join(script.textsDirectory, file)));
    const vectors = await embedder.embed(texts, { purpose: 'document' });
    db.exec(`
      CREATE VIRTUAL TABLE script_vectors_384 USING vec0(
        character_id text partition key,
        embedding float[384] distance_metric=cosine
      );
      CREATE TRIGGER script_vectors_384_cleanup AFTER DELETE ON script_chunks BEGIN
        DELETE FROM script_vectors_384 WHERE rowid = old.id;
      END;`);
    const key = db
      .prepare(`INSERT INTO script_indexes (character_id, script_hash, embedder_id, dimension, chunk_count, indexed_at) VALUES (?, ?, ?, 384, ?, 0) RETURNING id`)
      .pluck()
      .get('xia', script.hash, embedder.id, texts.length) as number;
    texts.forEach((text, ordinal) => {
      const id = db
        .prepare(`INSERT INTO script_chunks (character_id, ordinal, file, text, token_count) VALUES ('xia', ?, ?, ?, 1) RETURNING id`)
        .pluck()
        .get(ordinal, script.chunkFiles[ordinal], text) as number;
      db.prepare(`INSERT INTO script_text (rowid, terms) VALUES (?, ?)`).run(id, documentTerms(key, text));
      db.prepare(`INSERT INTO script_vectors_384 (rowid, character_id, embedding) VALUES (?, 'xia', ?)`).run(BigInt(id), vectors[ordinal]!);
    });
  }

  it('keeps the text of an index of the float layout, and the startup pass makes the script searchable by vector in the new one', async () => {
    const { embedder, counts } = countingEmbedder();
    const xia = load('xia');
    await writeFloatLayoutIndex(embedder, xia);
    expect(createScriptIndex({ db, embedder }).isCurrent(xia)).toBe(true);
    db.exec(`ALTER TABLE memories DROP COLUMN private; PRAGMA user_version = 70;`);
    db.close();

    db = openDatabase(join(directory, 'omoide.db'));
    expect(schemaVersion(db)).toBe(migrations.at(-1)!.version);
    expect(tableNames('script_vectors%')).toEqual([]); // the vec0 table, its shadow tables and its trigger
    expect(snapshot('xia')).toMatchObject({ vectors: 0, textEntries: 6, state: { chunkCount: 6 } });

    const index = createScriptIndex({ db, embedder });
    expect(index.isCurrent(xia)).toBe(false);
    // Before the re-embedding (or if the embedder is down at that start), scenes are still found by their text.
    expect((await index.search('xia', '阿哲:「你喜欢猫吗？」', { limit: 3 }))[0]?.file).toBe('text_2.txt');
    const documentCallsBefore = counts.documentCalls;
    expect(await index.ensureAll([xia])).toEqual([{ characterId: 'xia', indexed: true, chunks: 6 }]);
    expect(counts.documentCalls).toBe(documentCallsBefore + 1);
    expect(tableNames('script_codes_384%')).toEqual(expect.arrayContaining(['script_codes_384', 'script_codes_384_half']));
    expect(snapshot('xia')).toMatchObject({ vectors: 6, textEntries: 6, state: { chunkCount: 6, scriptHash: xia.script!.hash } });
    expect((await index.search('xia', '阿哲:「你喜欢猫吗？」', { limit: 3 }))[0]?.file).toBe('text_2.txt');
    // and by its vector alone, too
    const [query] = await embedder.embed(['阿哲:「你喜欢猫吗？」'], { purpose: 'query' });
    const [nearest] = new ScriptStore(db).vectorCandidates('xia', 384, query!, 1, scriptShortlist(1));
    expect(new ScriptStore(db).chunks([nearest!.id])[0]?.file).toBe('text_2.txt');
  });

  it('migrates a database at 70 that never had the script tables (it skipped 0030)', async () => {
    db.exec('DROP TABLE script_chunks; DROP TABLE script_indexes; DROP TABLE script_text; ALTER TABLE memories DROP COLUMN private; PRAGMA user_version = 70;');
    db.close();
    db = openDatabase(join(directory, 'omoide.db'));
    expect(schemaVersion(db)).toBe(migrations.at(-1)!.version);
    expect(tableNames('script%')).toEqual([]);
    const index = createScriptIndex({ db, embedder: countingEmbedder().embedder });
    expect(await index.ensureIndexed(load('mira'))).toEqual({ indexed: true, chunks: 5 });
  });
});
