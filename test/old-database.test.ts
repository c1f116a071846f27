/**
 * A database from an early omoide, opened by today's: only migrations 10 and 20 applied, then rows written as that
 * version's code wrote them (raw SQL): people on Discord and on QQ (stored as 'onebot' then), their dialogue, the
 * character chosen for a group, memories with their scope-prefixed text terms, and vectors in the embedding-space
 * table of that time (one vec0 float column, layout 1). Today's openDatabase applies every later migration; the rows
 * survive, memories are found by text at once and by vector once the space is rebuilt, and the whole app answers
 * from them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ManualClock } from '../src/core/clock.js';
import type { IncomingMessage } from '../src/core/message.js';
import { createMemory } from '../src/memory/memory.js';
import { memorySettingsSchema } from '../src/memory/settings.js';
import { openDatabase, schemaVersion } from '../src/store/db.js';
import { migrations } from '../src/store/migrations/index.js';
import { RecordingModel } from './helpers/recording-model.js';
import { ask } from './helpers/runtime.js';
import { createTestEmbedder } from './memory-helpers.js';

const then = Date.UTC(2024, 2, 1, 4); // 12:00 in Shanghai, 2024-03-01
const embedder = createTestEmbedder(); // the id and dimension the old space was built with: only its layout is old

let directory: string;
let path: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-old-db-'));
  path = join(directory, 'omoide.db');
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

/** Memories as the early code stored them: row, text terms (`s<scope>x` + each term), and a float vector. */
const oldMemories = [
  { id: 1, scope: 1, kind: 'fact', content: 'Alice has a cat called Mochi', terms: 's1xalic s1xcat s1xcall s1xmochi' },
  { id: 2, scope: 1, kind: 'event', content: 'Alice plays the violin on Sundays', terms: 's1xalic s1xplay s1xviolin s1xsunday' },
  { id: 3, scope: 2, kind: 'fact', content: 'Kyon drinks green tea every morning', terms: 's2xkyon s2xdrink s2xgreen s2xtea s2xevery s2xmorn' },
  {
    id: 4, scope: 2, kind: 'fact', content: '阿虚养了一只叫团子的猫',
    terms: 's2x阿 s2x阿虚 s2x虚 s2x虚养 s2x养 s2x养了 s2x了一 s2x一 s2x一只 s2x只 s2x只叫 s2x叫 s2x叫团 s2x团 s2x团子 s2x子 s2x子的 s2x的猫 s2x猫',
  },
] as const;

/** Builds the early database: migrations up to version 20, then that version's rows. */
async function buildVersion20Database(): Promise<void> {
  const db = new Database(path);
  sqliteVec.load(db);
  for (const migration of migrations.filter((candidate) => candidate.version <= 20)) {
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  expect(schemaVersion(db)).toBe(20);
  db.exec(`
    INSERT INTO users (id, platform, platform_user_id, display_name, created_at, updated_at) VALUES
      (1, 'discord', '500000000000000001', 'Alice', ${then}, ${then}),
      (2, 'onebot', '30003', '阿虚', ${then}, ${then});
    INSERT INTO conversations (id, platform, guild_id, channel_id, character_id, created_at, last_message_at) VALUES
      (1, 'discord', 'g1', 'c1', 'juniper', ${then}, ${then + 1000}),
      (2, 'onebot', '777', '777', 'xiaoman', ${then}, ${then + 1000});
    INSERT INTO messages (id, conversation_id, user_id, role, speaker_name, content, token_count, platform_message_id, reply_to_message_id, failed, created_at) VALUES
      (1, 1, 1, 'user', 'Alice', 'my cat is called Mochi', 6, 'd1', NULL, 0, ${then}),
      (2, 1, NULL, 'assistant', 'Juniper Hale', 'What a lovely name.', 5, NULL, 1, 0, ${then + 1000}),
      (3, 2, 2, 'user', '阿虚', '我养了一只猫叫团子', 9, '1001', NULL, 0, ${then}),
      (4, 2, NULL, 'assistant', '苏小满', '团子这个名字真可爱。', 9, NULL, 3, 0, ${then + 1000});
    INSERT INTO channel_characters (platform, guild_id, channel_id, character_id, updated_at) VALUES ('onebot', '777', '777', 'xiaoman', ${then});
    INSERT INTO memory_scopes (id, user_id, character_id, guild_id, created_at) VALUES
      (1, 1, 'juniper', 'g1', ${then}),
      (2, 2, 'xiaoman', '777', ${then});
    INSERT INTO embedding_spaces (id, embedder_id, dimension, table_name, state, created_at) VALUES
      (1, '${embedder.id}', ${embedder.dimension}, 'memory_vectors_1', 'active', ${then});
    CREATE VIRTUAL TABLE memory_vectors_1 USING vec0(
      scope_id integer partition key,
      embedding float[${embedder.dimension}] distance_metric=cosine
    );
    CREATE TRIGGER memory_vectors_1_cleanup AFTER DELETE ON memories BEGIN
      DELETE FROM memory_vectors_1 WHERE rowid = old.id;
    END;
  `);
  const insertMemory = db.prepare(`
    INSERT INTO memories (id, scope_id, kind, content, occurred_at, day, importance, strength, source_message_ids, created_at)
    VALUES (?, ?, ?, ?, ?, '2024-03-01', 0.7, 1, ?, ?)`);
  const insertTerms = db.prepare(`INSERT INTO memory_text (rowid, terms) VALUES (?, ?)`);
  const insertVector = db.prepare(`INSERT INTO memory_vectors_1 (rowid, scope_id, embedding) VALUES (?, ?, ?)`);
  const vectors = await embedder.embed(oldMemories.map((memory) => memory.content));
  db.transaction(() => {
    for (const [index, memory] of oldMemories.entries()) {
      insertMemory.run(memory.id, memory.scope, memory.kind, memory.content, then, memory.scope === 1 ? '[1,2]' : '[3,4]', then);
      insertTerms.run(memory.id, memory.terms);
      insertVector.run(BigInt(memory.id), BigInt(memory.scope), Buffer.from(vectors[index]!.buffer));
    }
  })();
  db.close();
}

const count = (db: Database.Database, sql: string) => (db.prepare(sql).get() as { n: number }).n;

describe('a database from an early version (schema 20)', () => {
  it('takes every migration; its rows survive and QQ people are stored as qq', async () => {
    await buildVersion20Database();
    const db = openDatabase(path);
    try {
      expect(schemaVersion(db)).toBe(migrations.at(-1)!.version);
      expect(db.prepare(`SELECT id, platform, platform_user_id FROM users ORDER BY id`).all()).toEqual([
        { id: 1, platform: 'discord', platform_user_id: '500000000000000001' },
        { id: 2, platform: 'qq', platform_user_id: '30003' },
      ]);
      expect(db.prepare(`SELECT platform FROM conversations ORDER BY id`).all()).toEqual([{ platform: 'discord' }, { platform: 'qq' }]);
      expect(db.prepare(`SELECT platform, character_id FROM channel_characters`).all()).toEqual([{ platform: 'qq', character_id: 'xiaoman' }]);
      expect(db.prepare(`SELECT id, content FROM messages ORDER BY id`).all()).toHaveLength(4);
      expect(db.prepare(`SELECT id, scope_id, content, superseded_by, forgotten_at FROM memories ORDER BY id`).all()).toEqual(
        oldMemories.map((memory) => ({ id: memory.id, scope_id: memory.scope, content: memory.content, superseded_by: null, forgotten_at: null })),
      );
      expect(count(db, `SELECT count(*) AS n FROM memory_text_docsize`)).toBe(4);
      // The old space is recorded as layout 1, to be rebuilt; nothing waits in the backlog; no consolidation yet.
      expect(db.prepare(`SELECT table_name, state, layout FROM embedding_spaces`).all()).toEqual([{ table_name: 'memory_vectors_1', state: 'active', layout: 1 }]);
      expect(count(db, `SELECT count(*) AS n FROM memory_vector_backlog`)).toBe(0);
      expect(count(db, `SELECT count(*) AS n FROM consolidation_jobs`)).toBe(0);
    } finally {
      db.close();
    }
  });

  it('finds memories by text at once, and by vector too once the embedding space is rebuilt', async () => {
    await buildVersion20Database();
    const db = openDatabase(path);
    const memory = createMemory({ db, embedder, settings: memorySettingsSchema.parse({ timezone: 'Asia/Shanghai' }), clock: new ManualClock(then + 86_400_000) });
    try {
      const alice = { userId: 1, characterId: 'juniper', guildId: 'g1' };
      const kyon = { userId: 2, characterId: 'xiaoman', guildId: '777' };
      // The old layout is never searched: text alone finds the memory.
      const byText = await memory.search(alice, 'what is my cat called?');
      expect(byText.memories[0]).toMatchObject({ record: { id: 1, content: 'Alice has a cat called Mochi' }, textRank: 1, vectorRank: null });

      const report = await memory.ensureEmbeddingSpace();
      expect(report).toMatchObject({ rebuilt: true, embedded: 4 });
      expect(count(db, `SELECT count(*) AS n FROM sqlite_master WHERE name = 'memory_vectors_1'`)).toBe(0);
      const both = await memory.search(alice, 'what is my cat called?');
      expect(both.memories[0]).toMatchObject({ record: { id: 1 }, textRank: 1, vectorRank: 1 });
      const cat = await memory.search(kyon, '团子是谁？');
      expect(cat.memories[0]).toMatchObject({ record: { id: 4, content: '阿虚养了一只叫团子的猫' }, textRank: 1, vectorRank: 1 });
      // Each person's memories stay in their own scope.
      expect(cat.memories.every((item) => item.record.id === 3 || item.record.id === 4)).toBe(true);
      expect(memory.listForUser(alice).map((record) => record.id).sort()).toEqual([1, 2]);
      expect(memory.listForUser(kyon).map((record) => record.id).sort()).toEqual([3, 4]);
    } finally {
      await memory.close();
      db.close();
    }
  });

  it('serves the whole app: the QQ group keeps its character, and the prompt recalls the old memory', async () => {
    await buildVersion20Database();
    const config = loadConfig({ env: { OMOIDE_DATA_DIR: directory, OMOIDE_LOG_LEVEL: 'error' }, cwd: directory });
    const model = new RecordingModel('记得呀。');
    const app = await createApp(config, { chatModel: model, embedder, clock: new ManualClock(then + 86_400_000) });
    try {
      const message: IncomingMessage = {
        platform: 'qq', guildId: '777', channelId: '777', messageId: '1002',
        author: { id: '30003', displayName: '阿虚' }, text: '你还记得我的猫叫什么吗？',
        addressing: { mentioned: true, repliedToBot: false, direct: false }, replyTo: null, timestamp: new Date(then + 86_400_000),
      };
      const reply = await ask(app.engine, message);
      expect(reply).toMatchObject({ characterId: 'xiaoman', text: '记得呀。', failure: null });
      expect(model.systemPrompt()).toContain('阿虚养了一只叫团子的猫');
      expect(app.store.findUserId('qq', '30003')).toBe(2);
    } finally {
      await app.close();
    }
  });
});
