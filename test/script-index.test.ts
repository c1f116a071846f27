import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Character } from '../src/characters/character.js';
import { loadCharacter } from '../src/characters/load-characters.js';
import { createScriptIndex } from '../src/characters/script-index.js';
import { LlmError } from '../src/llm/types.js';
import type { Embedder } from '../src/llm/types.js';
import { createBuiltinEmbedder } from '../src/llm/builtin/ngram-embedder.js';
import type { SqliteDatabase } from '../src/store/db.js';
import { openDatabase, schemaVersion } from '../src/store/db.js';
import { migrations } from '../src/store/migrations/index.js';
import { ScriptStore } from '../src/store/script-store.js';
import { logToFile, logToStderr } from '../src/util/logger.js';

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

function snapshot(characterId: string, dimension = 384) {
  const store = new ScriptStore(db);
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
    await expect(createScriptIndex({ db, embedder: broken }).ensureIndexed(load('mira'))).rejects.toThrow(/scene_4\.txt has a vector of 5 values/);
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
