/**
 * QQ has one name, 'qq', in config, on the command line and in the database. A database written when the live
 * adapter stored QQ people as 'onebot' (and `memory import --platform qq` filed them as 'qq') is migrated: each person
 * and conversation becomes one, their memories stay searchable, and nothing is left under 'onebot'.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Memory } from '../src/memory/memory.js';
import type { MemoryScopeKey } from '../src/memory/scope-keys.js';
import { openDatabase } from '../src/store/db.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';

let fixture: MemoryFixture;
afterEach(() => fixture.close());

const group = '777777';
const otherGroup = '888888';
const day = (n: number) => Date.UTC(2024, 4, n, 4);

function say(platform: string, qq: string, channelId: string, content: string, at: number, guildId = group) {
  return fixture.conversations.recordUserMessage({
    conversation: { platform, guildId, channelId, characterId: 'juniper' },
    platformUserId: qq, displayName: `user${qq}`, content, tokenCount: 4, platformMessageId: null, createdAt: at,
  });
}

const count = (sql: string, ...parameters: unknown[]) => (fixture.db.prepare(sql).get(...parameters) as { n: number }).n;

describe("migration 70: one name for QQ, 'qq'", () => {
  it('merges a person and a conversation kept under both names, and moves imported memories into the live scope', async () => {
    fixture = openMemoryFixture('omoide-platform-name-');
    const embedder = createTestEmbedder();
    const before = fixture.memory(embedder);
    await before.ensureEmbeddingSpace();
    // Kyon chatted live (stored as 'onebot') and was imported with --platform qq (stored as 'qq').
    const live = say('onebot', '30003', group, 'I drink green tea every morning', day(1));
    const imported = say('qq', '30003', 'import:Kyon', 'my cat is called 团子', day(2));
    const loner = say('onebot', '40004', group, 'hello', day(3)).userId;
    // The same group chat under both names (an import that used the group as its channel).
    const liveRoom = say('onebot', '30003', otherGroup, 'live line', day(4), otherGroup);
    const importedRoom = say('qq', '30003', otherGroup, 'imported line', day(5), otherGroup);
    fixture.db.prepare(`INSERT INTO channel_characters VALUES ('onebot', ?, ?, 'xiaoman', 2), ('qq', ?, ?, 'juniper', 1)`).run(group, group, group, group);

    const liveScope: MemoryScopeKey = { userId: live.userId, characterId: 'juniper', guildId: group };
    const importedScope: MemoryScopeKey = { userId: imported.userId, characterId: 'juniper', guildId: group };
    const otherCharacter: MemoryScopeKey = { userId: imported.userId, characterId: 'xiaoman', guildId: group };
    await before.rememberMany([
      { scope: liveScope, kind: 'fact', content: 'Kyon drinks green tea every morning', occurredAt: day(1) },
      { scope: importedScope, kind: 'fact', content: 'Kyon has a cat called 团子', occurredAt: day(2) },
      { scope: otherCharacter, kind: 'fact', content: 'Kyon told 小满 about the violin', occurredAt: day(2) },
    ]);
    await before.close();
    // Back to version 60: what the later migrations add goes first.
    fixture.db.exec(`ALTER TABLE memories DROP COLUMN private; PRAGMA user_version = 60;`);
    fixture.db.close();

    fixture.db = openDatabase(fixture.path);
    expect(count(`SELECT count(*) AS n FROM users WHERE platform = 'onebot'`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM conversations WHERE platform = 'onebot'`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM channel_characters WHERE platform = 'onebot'`)).toBe(0);
    // One Kyon, with the live id; the other person renamed as they were.
    const kyon = fixture.db.prepare(`SELECT id FROM users WHERE platform = 'qq' AND platform_user_id = '30003'`).all() as { id: number }[];
    expect(kyon).toEqual([{ id: live.userId }]);
    expect(count(`SELECT count(*) AS n FROM users WHERE platform = 'qq' AND id = ?`, loner)).toBe(1);
    expect(count(`SELECT count(*) AS n FROM messages WHERE user_id = ?`, live.userId)).toBe(4);
    // The group chat kept under both names is one conversation now, with both lines.
    expect(count(`SELECT count(*) AS n FROM conversations WHERE id = ?`, importedRoom.conversationId)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM messages WHERE conversation_id = ?`, liveRoom.conversationId)).toBe(2);
    // Where both named a character for the channel, the live choice stays.
    expect(fixture.db.prepare(`SELECT character_id FROM channel_characters WHERE guild_id = ?`).all(group)).toEqual([{ character_id: 'xiaoman' }]);

    const memory: Memory = fixture.memory(embedder);
    await memory.ensureEmbeddingSpace(); // embeds the moved memory into its new scope's partition
    expect(memory.listForUser(liveScope).map((record) => record.content).sort()).toEqual([
      'Kyon drinks green tea every morning',
      'Kyon has a cat called 团子',
    ]);
    expect(count(`SELECT count(*) AS n FROM memory_scopes WHERE user_id = ?`, imported.userId)).toBe(0);
    const cat = (await memory.search(liveScope, 'what is my cat called? 团子')).memories[0]!;
    expect(cat).toMatchObject({ record: { content: 'Kyon has a cat called 团子' }, vectorRank: 1, textRank: 1 });
    expect(count(`SELECT count(*) AS n FROM memory_vector_backlog`)).toBe(0);
    const violin = { ...otherCharacter, userId: live.userId };
    expect(memory.listForUser(violin).map((record) => record.content)).toEqual(['Kyon told 小满 about the violin']);
  });
});
