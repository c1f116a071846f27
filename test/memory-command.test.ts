/** `/memory` at the handler level: a real SQLite database and memory facade, a minimal engine, the real locales. */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CharacterCatalog } from '../src/characters/catalog.js';
import { createCommandHandler } from '../src/commands/index.js';
import { forgetMeCodeTtlMs } from '../src/commands/memory-command.js';
import type { CommandHandler, CommandInvocation } from '../src/core/commands.js';
import type { Engine } from '../src/engine/engine.js';
import { loadTranslator } from '../src/core/i18n.js';
import type { Memory, MemoryScopeKey } from '../src/memory/memory.js';
import { openDatabase } from '../src/store/db.js';
import { localesDirectory } from '../src/util/paths.js';
import { makeCharacter } from './helpers/character.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';
import { createPersonEraser } from '../src/memory/erase-person.js';

const translator = loadTranslator(localesDirectory);
const character = makeCharacter();
const engine = { characterFor: () => character, localeFor: () => 'en-US' } as unknown as Engine;
const characters = {} as CharacterCatalog;
const guildId = 'guild-1';
const day = (n: number) => Date.UTC(2024, 4, n, 4);

let fixture: MemoryFixture;
let memory: Memory;
let alice: MemoryScopeKey;
let bob: MemoryScopeKey;
type ConsolidateScope = { characterId: string; guildId: string | null; userId?: number };
let consolidateCalls: ConsolidateScope[];

function handler(withConsolidate = true, memoryScope: 'per-guild' | 'global' = 'per-guild'): CommandHandler {
  return createCommandHandler({
    engine,
    characters,
    translator,
    memory,
    store: fixture.conversations,
    memoryScope,
    erase: createPersonEraser({ db: fixture.db, memory, store: fixture.conversations, memoryScope }),
    ...(withConsolidate
      ? {
          consolidate: async (scope: ConsolidateScope) => {
            consolidateCalls.push(scope);
            return { jobs: 3, done: 2, failed: 1, skipped: 0 };
          },
        }
      : {}),
  });
}

function invoke(
  subcommand: string,
  options: Record<string, string | undefined> = {},
  extra: { user?: string; isAdmin?: boolean; isOwner?: boolean; locale?: string | null; at?: number; guild?: string } = {},
): CommandInvocation {
  const user = extra.user ?? 'alice';
  return {
    platform: 'discord',
    guildId: extra.guild ?? guildId,
    channelId: 'channel-1',
    author: { id: `id-${user}`, displayName: user },
    isAdmin: extra.isAdmin ?? extra.isOwner ?? false,
    isOwner: extra.isOwner ?? false,
    locale: extra.locale === undefined ? 'en-US' : extra.locale,
    command: 'memory',
    subcommand,
    options,
    timestamp: new Date(extra.at ?? day(21)),
  };
}

const rowsOfScope = (scopeId: number) =>
  (fixture.db.prepare('SELECT count(*) AS n FROM memories WHERE scope_id = ?').get(scopeId) as { n: number }).n;
const count = (sql: string, ...parameters: unknown[]) => (fixture.db.prepare(sql).get(...parameters) as { n: number }).n;
const activeVectorTable = () =>
  (fixture.db.prepare(`SELECT table_name FROM embedding_spaces WHERE state = 'active'`).get() as { table_name: string }).table_name;

/** A user's message to the character in a guild's channel and the character's reply, as the engine archives them. */
function talk(user: string, content: string, inGuild = guildId, minute = 0): void {
  const createdAt = day(20) + minute * 60_000;
  const asked = fixture.conversations.recordUserMessage({
    conversation: { platform: 'discord', guildId: inGuild, channelId: `channel-of-${inGuild}`, characterId: character.id },
    platformUserId: `id-${user}`, displayName: user, content, tokenCount: 1, platformMessageId: null, createdAt,
  });
  fixture.conversations.recordAssistantMessage({
    conversationId: asked.conversationId, speakerName: character.name, content: `reply to ${user}`, tokenCount: 1,
    replyToMessageId: asked.messageId, failed: false, createdAt: createdAt + 1,
  });
}

/** Messages of a user with the character (theirs and the replies to them), per guild. */
function dialogueRows(userId: number): Record<string, number> {
  const rows = fixture.db
    .prepare(
      `SELECT c.guild_id AS guild, count(*) AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE c.character_id = ? AND (m.user_id = ? OR m.reply_to_message_id IN (SELECT id FROM messages WHERE user_id = ?))
       GROUP BY c.guild_id ORDER BY c.guild_id`,
    )
    .all(character.id, userId, userId) as { guild: string; n: number }[];
  return Object.fromEntries(rows.map((row) => [row.guild, row.n]));
}

async function confirmForgetMe(commands: CommandHandler, extra: Parameters<typeof invoke>[2] = {}) {
  const asked = await commands.run(invoke('forget-me', {}, extra));
  const code = /confirm:([A-Z0-9]{6})/.exec(asked.text)![1]!;
  return commands.run(invoke('forget-me', { confirm: code }, extra));
}

beforeEach(async () => {
  fixture = openMemoryFixture('omoide-memory-command-');
  memory = fixture.memory(createTestEmbedder());
  await memory.ensureEmbeddingSpace();
  consolidateCalls = [];
  alice = { userId: fixture.user('alice'), characterId: character.id, guildId };
  bob = { userId: fixture.user('bob'), characterId: character.id, guildId };
  await memory.rememberMany([
    { scope: alice, kind: 'portrait', content: 'Alice is a cheerful violinist who loves rainy days.', occurredAt: day(10) },
    { scope: alice, kind: 'fact', content: 'Alice has a cat called Mochi.', occurredAt: day(11) },
    { scope: alice, kind: 'event', content: 'Alice played a concert in Kyoto.', occurredAt: day(12) },
    { scope: alice, kind: 'turn', content: 'alice: I tuned my violin today\nTess: Sounds lovely.', occurredAt: day(13) },
    { scope: bob, kind: 'fact', content: 'Bob keeps a parrot called Captain.', occurredAt: day(11) },
    { scope: bob, kind: 'turn', content: 'bob: my parrot learned a new word\nTess: Which one?', occurredAt: day(14) },
  ]);
});

afterEach(async () => {
  await fixture.close();
});

describe('/memory', () => {
  it('registers its definition next to persona', () => {
    const definitions = handler().definitions;
    expect(definitions.map((definition) => definition.name)).toEqual(['persona', 'memory']);
    const memoryDefinition = definitions.find((definition) => definition.name === 'memory')!;
    expect(memoryDefinition.subcommands.map((sub) => [sub.name, sub.adminOnly])).toEqual([
      ['show', false], ['search', false], ['forget', false], ['forget-me', false], ['export', false],
      ['inspect', true], ['forget-user', true], ['consolidate', true],
    ]);
  });

  it('show lists the portrait first, then facts and events, then recent turns, privately', async () => {
    const result = await handler().run(invoke('show'));
    expect(result.private).toBe(true);
    const lines = result.text.split('\n');
    const portrait = lines.findIndex((line) => line.includes('cheerful violinist'));
    const fact = lines.findIndex((line) => line.includes('Mochi'));
    const event = lines.findIndex((line) => line.includes('Kyoto'));
    const turn = lines.findIndex((line) => line.includes('tuned my violin'));
    expect(portrait).toBeGreaterThan(0);
    expect(portrait).toBeLessThan(Math.min(fact, event));
    expect(Math.max(fact, event)).toBeLessThan(turn);
    expect(lines[portrait]).toMatch(/^#\d+ \[2024-05-10\] Alice is a cheerful violinist/);
    // a turn's line breaks are flattened into one line
    expect(lines[turn]).toMatch(/^#\d+ \[2024-05-13\] alice: I tuned my violin today Tess: Sounds lovely\.$/);
    expect(result.text).not.toContain('Captain');
    expect(result.text).not.toContain('parrot');
  });

  it('show cuts long memories and keeps only the 10 latest turns', async () => {
    await memory.remember({ scope: alice, kind: 'fact', content: `Alice ${'very '.repeat(100)}long`, occurredAt: day(15) });
    await memory.rememberMany(
      Array.from({ length: 12 }, (_, index) => ({ scope: alice, kind: 'turn' as const, content: `alice: turn number ${index}`, occurredAt: day(16) + index })),
    );
    const result = await handler().run(invoke('show'));
    const longLine = result.text.split('\n').find((line) => line.includes('very very'))!;
    expect(longLine.endsWith('…')).toBe(true);
    expect(longLine.length).toBeLessThan(230);
    const turns = result.text.split('\n').filter((line) => /alice: (turn number|I tuned)/.test(line));
    expect(turns).toHaveLength(10);
    expect(result.text).toContain('turn number 11');
    expect(result.text).not.toContain('turn number 0');
  });

  it('show says nothing is remembered, for a stranger and for a known user without memories (en and zh)', async () => {
    const carol = fixture.user('carol');
    expect(carol).toBeGreaterThan(0);
    const known = await handler().run(invoke('show', {}, { user: 'carol' }));
    expect(known).toEqual({ text: "Tess doesn't remember anything about you here yet.", private: true });
    const stranger = await handler().run(invoke('show', {}, { user: 'nobody', locale: 'zh-CN' }));
    expect(stranger.text).toBe('Tess 在这里还没有关于你的记忆。');
  });

  it('search finds only the invoker’s own memories', async () => {
    const mine = await handler().run(invoke('search', { text: 'parrot cat' }));
    expect(mine.private).toBe(true);
    expect(mine.text).toContain('Mochi');
    expect(mine.text).not.toContain('Captain');
    for (const line of mine.text.split('\n').slice(1)) expect(line).toMatch(/^#\d+ \[\d{4}-\d{2}-\d{2}\] /);
    const bobs = await handler().run(invoke('search', { text: 'parrot cat' }, { user: 'bob' }));
    expect(bobs.text).toContain('Captain');
    expect(bobs.text).not.toContain('Mochi');
  });

  it('search returns at most 8 memories and says when nothing matches', async () => {
    const teas = [
      'Alice drinks oolong tea every morning before practice.', 'Her grandmother grew tea on a hillside in Fujian.',
      'Jasmine tea reminds Alice of summer evenings.', 'Alice spilled tea on her sheet music last winter.',
      'She brews tea for the whole orchestra on Fridays.', 'A friend gave Alice a cast-iron tea kettle.',
      'Alice refuses to drink tea bags, only loose leaves.', 'Green tea keeps Alice awake during long rehearsals.',
      'The café near the conservatory serves Alice her usual tea.', 'Alice collects tea cups from every city she tours.',
      'Matcha is the only tea Alice cannot stand.', 'Alice once judged a tea competition in Shizuoka.',
    ];
    await memory.rememberMany(teas.map((content, index) => ({ scope: alice, kind: 'fact' as const, content, occurredAt: day(1) + index })));
    const result = await handler().run(invoke('search', { text: 'tea' }));
    expect(result.text.split('\n').filter((line) => line.startsWith('#'))).toHaveLength(8);
    const none = await handler().run(invoke('search', { text: 'zeppelin' }, { user: 'nobody' }));
    expect(none.text).toBe('None of your memories match "zeppelin".');
  });

  it('forget hides one of the invoker’s memories; another user’s id gets the nonexistent-id answer', async () => {
    const [fact] = memory.listForUser(alice, { kinds: ['fact'] });
    const [bobFact] = memory.listForUser(bob, { kinds: ['fact'] });
    const commands = handler();

    const refused = await commands.run(invoke('forget', { id: String(bobFact!.id) }));
    const missing = await commands.run(invoke('forget', { id: '999999' }));
    expect(refused.private).toBe(true);
    expect(refused.text).toBe(`You have no memory #${bobFact!.id}.`);
    expect(missing.text).toBe('You have no memory #999999.');
    expect(refused.text.replace(String(bobFact!.id), 'N')).toBe(missing.text.replace('999999', 'N'));
    expect(memory.listForUser(bob, { kinds: ['fact'] })).toHaveLength(1);

    const done = await commands.run(invoke('forget', { id: `#${fact!.id}` }));
    expect(done).toEqual({ text: `Memory #${fact!.id} is now hidden. An admin can restore it.`, private: true });
    expect(memory.listForUser(alice, { kinds: ['fact'] })).toHaveLength(0);
    const hidden = memory.listForUser(alice, { kinds: ['fact'], includeForgotten: true });
    expect(hidden[0]!.forgottenAt).toBe(day(21));
    // already forgotten: not "yours" any more
    expect((await commands.run(invoke('forget', { id: String(fact!.id) }))).text).toBe(`You have no memory #${fact!.id}.`);
    expect((await commands.run(invoke('show'))).text).not.toContain('Mochi');
  });

  it('forget-me asks for a code, refuses a wrong or expired one, and deletes the scope with the right one', async () => {
    const commands = handler();
    const aliceScope = memory.findScopeId(alice)!;
    const bobScope = memory.findScopeId(bob)!;
    expect(rowsOfScope(aliceScope)).toBe(4);

    const asked = await commands.run(invoke('forget-me'));
    expect(asked.private).toBe(true);
    const code = /confirm:([A-Z0-9]{6})/.exec(asked.text)![1]!;
    expect(asked.text).toContain(`/memory forget-me confirm:${code}`);
    expect(asked.text).toContain('5 minutes');

    const wrong = await commands.run(invoke('forget-me', { confirm: code === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA' }));
    expect(wrong.text).toBe('That confirmation code is wrong or has expired. Run /memory forget-me again for a new one.');
    // bob cannot use alice's code
    expect((await commands.run(invoke('forget-me', { confirm: code }, { user: 'bob' }))).text).toContain('wrong or has expired');
    expect(rowsOfScope(aliceScope)).toBe(4);

    const expired = await commands.run(invoke('forget-me', { confirm: code }, { at: day(21) + forgetMeCodeTtlMs + 1 }));
    expect(expired.text).toContain('wrong or has expired');
    expect(rowsOfScope(aliceScope)).toBe(4);

    const again = await commands.run(invoke('forget-me'));
    const fresh = /confirm:([A-Z0-9]{6})/.exec(again.text)![1]!;
    const done = await commands.run(invoke('forget-me', { confirm: fresh.toLowerCase() }, { at: day(21) + 60_000 }));
    expect(done).toEqual({ text: 'Done: 4 memories and 0 messages deleted. Tess no longer remembers you here.', private: true });
    expect(rowsOfScope(aliceScope)).toBe(0);
    expect(rowsOfScope(bobScope)).toBe(2);
    // the code is used up
    expect((await commands.run(invoke('forget-me', { confirm: fresh }))).text).toContain('anything about you');
  });

  it('forget-me answers in Chinese', async () => {
    const asked = await handler().run(invoke('forget-me', {}, { locale: 'zh-CN' }));
    expect(asked.text).toMatch(/^这会永久删除 Tess 在这里关于你的全部记忆。请在 5 分钟内执行以下命令确认：\/memory forget-me confirm:[A-Z0-9]{6}$/);
    expect((await handler().run(invoke('forget-me', { confirm: 'ZZZZZZ' }, { locale: 'zh-CN' }))).text).toBe(
      '确认码错误或已过期。请重新执行 /memory forget-me 获取新的确认码。',
    );
  });

  it('export attaches only the invoker’s memories of this scope as JSON', async () => {
    const result = await handler().run(invoke('export'));
    expect(result.private).toBe(true);
    expect(result.text).toBe('Your 4 memories with Tess here are attached.');
    expect(result.file?.name).toBe('omoide-memories.json');
    const parsed = JSON.parse(result.file!.content) as { characterId: string; guildId: string; memories: { content: string; scopeId: number }[] };
    expect(parsed).toMatchObject({ characterId: 'tester', guildId, platformUserId: 'id-alice' });
    expect(parsed.memories).toHaveLength(4);
    expect(new Set(parsed.memories.map((record) => record.scopeId))).toEqual(new Set([memory.findScopeId(alice)]));
    expect(result.file!.content).not.toContain('Captain');

    const bobs = await handler().run(invoke('export', {}, { user: 'bob' }));
    expect(bobs.file!.content).toContain('Captain');
    expect(bobs.file!.content).not.toContain('Mochi');
    const none = await handler().run(invoke('export', {}, { user: 'nobody' }));
    expect(none.file).toBeUndefined();
  });

  it('refuses inspect, forget-user and consolidate to non-admins, in en and zh', async () => {
    const commands = handler();
    for (const subcommand of ['inspect', 'forget-user', 'consolidate']) {
      const en = await commands.run(invoke(subcommand, { user: 'id-bob' }));
      expect(en).toEqual({ text: `Only server admins can use /memory ${subcommand}.`, private: true });
      const zh = await commands.run(invoke(subcommand, { user: 'id-bob' }, { locale: 'zh-CN' }));
      expect(zh).toEqual({ text: `只有管理员可以使用 /memory ${subcommand}。`, private: true });
    }
    expect(consolidateCalls).toEqual([]);
    expect(memory.listForUser(bob)).toHaveLength(2);
  });

  it('inspect shows another user’s memories to an admin', async () => {
    const result = await handler().run(invoke('inspect', { user: 'id-bob' }, { isAdmin: true }));
    expect(result.private).toBe(true);
    expect(result.text.split('\n')[0]).toBe('What Tess remembers about id-bob here:');
    expect(result.text).toContain('Captain');
    expect(result.text).not.toContain('Mochi');
    const nobody = await handler().run(invoke('inspect', { user: 'id-nobody' }, { isAdmin: true }));
    expect(nobody.text).toBe("Tess doesn't remember anything about id-nobody here yet.");
  });

  it('forget-user deletes a user’s scope for an admin', async () => {
    const bobScope = memory.findScopeId(bob)!;
    const result = await handler().run(invoke('forget-user', { user: 'id-bob' }, { isAdmin: true }));
    expect(result).toEqual({ text: 'Deleted 2 memories and 0 messages of id-bob here.', private: true });
    expect(rowsOfScope(bobScope)).toBe(0);
    expect(rowsOfScope(memory.findScopeId(alice)!)).toBe(4);
  });

  it('forget-me of everything leaves no byte of what the person said, nor their name, in the database file or its log', async () => {
    memory = fixture.memory(createTestEmbedder(), { scope: 'global' });
    talk('zed-quixotic-name', 'my secret word is xylophonewhisper', guildId, 0);
    talk('zed-quixotic-name', 'in private: xylophonewhisper again', '', 1);
    const zed = { userId: fixture.conversations.findUserId('discord', 'id-zed-quixotic-name')!, characterId: character.id, guildId };
    await memory.remember({ scope: zed, kind: 'fact', content: 'Zed keeps the word xylophonewhisper secret.', occurredAt: day(11) });
    const bytes = () => ['', '-wal'].map((suffix) => {
      try {
        return readFileSync(`${fixture.path}${suffix}`).toString('latin1');
      } catch {
        return '';
      }
    }).join('');
    expect(bytes()).toContain('xylophonewhisper');
    await confirmForgetMe(handler(true, 'global'), { user: 'zed-quixotic-name' });
    expect(count(`SELECT count(*) AS n FROM users WHERE platform_user_id = 'id-zed-quixotic-name'`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM conversations WHERE channel_id = 'channel-of-'`)).toBe(0);
    const left = bytes();
    expect(left).not.toContain('xylophonewhisper');
    expect(left).not.toContain('zed-quixotic-name');
    // the full-text terms are stored segmented and scope-prefixed: the stem is gone too
    expect(left).not.toMatch(/s\d+xxylophonewhisp/);
  });

  it('forget-me leaves no row of the invoker in this scope in the SQLite file, and every row of others', async () => {
    talk('alice', 'my cat is Mochi', guildId, 0);
    talk('bob', 'my parrot is Captain', guildId, 1);
    talk('alice', 'Mochi broke a cup', guildId, 2);
    talk('alice', 'hello from another server', 'guild-2', 3);
    const aliceId = alice.userId;
    const bobId = bob.userId;
    const aliceScope = memory.findScopeId(alice)!;
    const vectors = activeVectorTable();
    const ofScope = (table: string, scopeId: number) =>
      count(`SELECT count(*) AS n FROM ${table} WHERE rowid IN (SELECT id FROM memories WHERE scope_id = ?)`, scopeId);
    expect(ofScope('memory_text_docsize', aliceScope)).toBe(4);
    expect(ofScope(vectors, aliceScope)).toBe(4);
    expect(dialogueRows(aliceId)).toEqual({ [guildId]: 4, 'guild-2': 2 });
    const before = { ...fixture.counts(vectors), bobMessages: dialogueRows(bobId), bobMemories: rowsOfScope(memory.findScopeId(bob)!) };

    const done = await confirmForgetMe(handler());
    expect(done.text).toBe('Done: 4 memories and 4 messages deleted. Tess no longer remembers you here.');

    // read back from the file itself, through a second connection
    const file = openDatabase(fixture.path);
    try {
      const inFile = (sql: string, ...parameters: unknown[]) => (file.prepare(sql).get(...parameters) as { n: number }).n;
      expect(inFile('SELECT count(*) AS n FROM memories WHERE scope_id = ?', aliceScope)).toBe(0);
      expect(fixture.counts(vectors)).toEqual({ memories: before.memories - 4, text: before.text - 4, vectors: before.vectors - 4 });
      expect(inFile(`SELECT count(*) AS n FROM memory_text_docsize`)).toBe(before.text - 4);
      expect(inFile(`SELECT count(*) AS n FROM ${vectors}`)).toBe(before.vectors - 4);
    } finally {
      file.close();
    }
    // only this guild's dialogue: memory is per guild here
    expect(dialogueRows(aliceId)).toEqual({ 'guild-2': 2 });
    expect(dialogueRows(bobId)).toEqual(before.bobMessages);
    expect(rowsOfScope(memory.findScopeId(bob)!)).toBe(before.bobMemories);
    expect(memory.listForUser(bob).map((record) => record.content)).toContain('Bob keeps a parrot called Captain.');
  });

  it('with global memory, forget-me reaches every guild and its code works in any of them', async () => {
    const globalMemory = fixture.memory(createTestEmbedder(), { scope: 'global' });
    memory = globalMemory;
    const carol = { userId: fixture.user('carol'), characterId: character.id, guildId };
    await globalMemory.remember({ scope: carol, kind: 'fact', content: 'Carol sails every summer.', occurredAt: day(11) });
    talk('carol', 'I sail', guildId, 0);
    talk('carol', 'the boat is called Wren', 'guild-2', 1);
    talk('bob', 'hello', 'guild-2', 2);
    const commands = handler(true, 'global');
    const asked = await commands.run(invoke('forget-me', {}, { user: 'carol', guild: 'guild-2' }));
    const code = /confirm:([A-Z0-9]{6})/.exec(asked.text)![1]!;
    const done = await commands.run(invoke('forget-me', { confirm: code }, { user: 'carol' }));
    expect(done.text).toBe('Done: 1 memories and 4 messages deleted. Tess no longer remembers you here.');
    expect(dialogueRows(carol.userId)).toEqual({});
    expect(dialogueRows(bob.userId)).toEqual({ 'guild-2': 2 });
    expect(globalMemory.listForUser({ ...carol, guildId: 'guild-2' })).toEqual([]);
  });

  describe('with global memory, an admin reaches only their own server; owners reach everywhere', () => {
    /** A message of bob's with the character in `place` ('' = a DM) and a memory made from it. */
    async function said(place: string, content: string, minute: number) {
      const createdAt = day(20) + minute * 60_000;
      const asked = fixture.conversations.recordUserMessage({
        conversation: { platform: 'discord', guildId: place, channelId: `channel-of-${place || 'dm'}`, characterId: character.id },
        platformUserId: 'id-bob', displayName: 'bob', content, tokenCount: 1, platformMessageId: null, createdAt,
      });
      const [prepared] = await memory.prepareMany([{ kind: 'fact', content, occurredAt: createdAt }]);
      memory.writePrepared([{ scope: { ...bob, guildId: place || null }, memory: prepared!, sourceMessageIds: [asked.messageId] }]);
    }

    beforeEach(async () => {
      memory = fixture.memory(createTestEmbedder(), { scope: 'global' });
      await said(guildId, 'Bob plays chess in guild one.', 1);
      await said('guild-2', 'Bob is secretly learning the harp.', 2);
      await said('', 'Bob told the character about his debts.', 3);
    });

    it("inspect shows a server's admin only what was said in that server", async () => {
      const shown = (await handler(true, 'global').run(invoke('inspect', { user: 'id-bob' }, { isAdmin: true }))).text;
      expect(shown).toContain('chess');
      expect(shown).not.toContain('harp');
      expect(shown).not.toContain('debts');
      const elsewhere = (await handler(true, 'global').run(invoke('inspect', { user: 'id-bob' }, { isAdmin: true, guild: 'guild-3' }))).text;
      expect(elsewhere).toBe(translator.t('en-US', 'commands.memory.nothing-user', { character: 'Tess', user: 'id-bob' }));
      const owner = (await handler(true, 'global').run(invoke('inspect', { user: 'id-bob' }, { isOwner: true }))).text;
      for (const content of ['chess', 'harp', 'debts']) expect(owner).toContain(content);
    });

    it("forget-user by a server's admin erases what was said there and nothing of other servers or private chats", async () => {
      const result = await handler(true, 'global').run(invoke('forget-user', { user: 'id-bob' }, { isAdmin: true }));
      expect(result.text).toContain('Deleted 1 memories and 1 messages of id-bob here');
      const left = memory.listForUser(bob).map((record) => record.content);
      expect(left.some((content) => content.includes('chess'))).toBe(false);
      expect(left).toEqual(expect.arrayContaining(['Bob is secretly learning the harp.', 'Bob told the character about his debts.']));
      expect(dialogueRows(bob.userId)).toEqual({ '': 1, 'guild-2': 1 });
      await handler(true, 'global').run(invoke('forget-user', { user: 'id-bob' }, { isOwner: true }));
      expect(memory.listForUser(bob)).toEqual([]);
    });

    it("consolidate is the owners' when memory is global, and any admin's when it is per server", async () => {
      const refused = await handler(true, 'global').run(invoke('consolidate', {}, { isAdmin: true }));
      expect(refused.text).toBe("Memory follows people across servers here, so only the bot's owners can run consolidation.");
      expect(consolidateCalls).toEqual([]);
      await handler(true, 'global').run(invoke('consolidate', {}, { isOwner: true }));
      await handler(true, 'per-guild').run(invoke('consolidate', {}, { isAdmin: true }));
      expect(consolidateCalls).toHaveLength(2);
    });
  });

  it('export says which memory scope it came from', async () => {
    const perGuild = JSON.parse((await handler().run(invoke('export'))).file!.content) as { memoryScope: string; guildId: string | null };
    expect(perGuild).toMatchObject({ memoryScope: 'per-guild', guildId });
    memory = fixture.memory(createTestEmbedder(), { scope: 'global' });
    await memory.remember({ scope: alice, kind: 'fact', content: 'Alice travels a lot.', occurredAt: day(11) });
    const global = JSON.parse((await handler(true, 'global').run(invoke('export', {}, { guild: 'guild-9' }))).file!.content) as {
      memoryScope: string; guildId: string | null; memories: { content: string }[];
    };
    expect(global).toMatchObject({ memoryScope: 'global', guildId: null });
    expect(global.memories.map((record) => record.content)).toEqual(['Alice travels a lot.']);
  });

  it('consolidate runs for one user when an admin names one, and says so when that user is unknown', async () => {
    const one = await handler().run(invoke('consolidate', { user: 'id-bob' }, { isAdmin: true }));
    expect(one.text).toBe('Consolidation ran 3 jobs: 2 done, 1 failed, 0 skipped.');
    expect(consolidateCalls).toEqual([{ characterId: 'tester', guildId, userId: bob.userId }]);
    const unknown = await handler().run(invoke('consolidate', { user: 'id-nobody' }, { isAdmin: true, locale: 'zh-CN' }));
    expect(unknown.text).toBe('Tess 在这里还没有关于 id-nobody 的记忆。');
    expect(consolidateCalls).toHaveLength(1);
  });

  it('consolidate runs the dependency for this character and guild, or says it is unavailable', async () => {
    const result = await handler().run(invoke('consolidate', {}, { isAdmin: true }));
    expect(result).toEqual({ text: 'Consolidation ran 3 jobs: 2 done, 1 failed, 0 skipped.', private: true });
    expect(consolidateCalls).toEqual([{ characterId: 'tester', guildId }]);
    const unavailable = await handler(false).run(invoke('consolidate', {}, { isAdmin: true, locale: 'zh-CN' }));
    expect(unavailable.text).toBe('这里无法进行记忆整理。');
  });
});
