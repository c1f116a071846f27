/**
 * `/memory` on QQ end to end: the real Koishi + onebot adapter against the fake OneBot peer, the real command
 * handler over a real SQLite memory. Asserts on the actions the peer receives: private results by
 * send_private_msg (with a short note in the group), the export as JSON text in a private message.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createQQAdapter, type QQAdapter } from '../src/adapters/qq/adapter.js';
import type { CharacterCatalog } from '../src/characters/catalog.js';
import { createCommandHandler } from '../src/commands/index.js';
import { loadTranslator } from '../src/core/i18n.js';
import type { Engine } from '../src/engine/engine.js';
import type { Memory, MemoryScopeKey } from '../src/memory/memory.js';
import { setLogLevel } from '../src/util/logger.js';
import { localesDirectory } from '../src/util/paths.js';
import { createFakeOneBot, text, type FakeOneBot, type RecordedAction, type Segment } from './fakes/fake-onebot.js';
import { makeCharacter } from './helpers/character.js';
import { createRecordingEngine, createTestRuntime, qqSettings } from './helpers/runtime.js';
import { waitUntil } from './helpers/wait.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';
import { createPersonEraser } from '../src/memory/erase-person.js';

const translator = loadTranslator(localesDirectory);
const character = makeCharacter({ name: '春日', language: 'zh-CN' });
// QQ tells no locale: answers come in the language of the character speaking there.
const engine = { characterFor: () => character, localeFor: () => 'zh-CN' } as unknown as Engine;
const characters = {} as CharacterCatalog;
const selfId = '10001';
const groupId = '20002';
const aliceQQ = '30003';
const bobQQ = '40004';
const day = (n: number) => Date.UTC(2024, 4, n, 4);

let fixture: MemoryFixture;
let memory: Memory;
let alice: MemoryScopeKey;
let bob: MemoryScopeKey;
let peer: FakeOneBot | null = null;
let adapter: QQAdapter | null = null;

function recordUser(platformUserId: string, name: string): number {
  return fixture.conversations.recordUserMessage({
    conversation: { platform: 'qq', guildId: groupId, channelId: groupId, characterId: character.id },
    platformUserId, displayName: name, content: 'hello', tokenCount: 1, platformMessageId: null, createdAt: day(1),
  }).userId;
}

beforeAll(() => setLogLevel('error'));

beforeEach(async () => {
  fixture = openMemoryFixture('omoide-koishi-memory-');
  memory = fixture.memory(createTestEmbedder());
  await memory.ensureEmbeddingSpace();
  alice = { userId: recordUser(aliceQQ, 'alice'), characterId: character.id, guildId: groupId };
  bob = { userId: recordUser(bobQQ, 'bob'), characterId: character.id, guildId: groupId };
  await memory.rememberMany([
    { scope: alice, kind: 'portrait', content: '阿丽丝是一个开朗的小提琴手。', occurredAt: day(10) },
    { scope: alice, kind: 'fact', content: '阿丽丝有一只叫麻糬的猫。', occurredAt: day(11) },
    { scope: bob, kind: 'fact', content: '鲍勃养了一只叫船长的鹦鹉。', occurredAt: day(11) },
  ]);
  peer = createFakeOneBot({ selfId, nickname: '春日' });
  const endpoint = await peer.listen();
  adapter = createQQAdapter({
    settings: qqSettings({ protocol: 'ws', endpoint, selfId }), runtime: createTestRuntime(createRecordingEngine(() => 'unused')),
    translator, responseTimeoutMs: 5000,
    commands: createCommandHandler({ engine, characters, translator, memory, store: fixture.conversations, memoryScope: 'per-guild',
      erase: createPersonEraser({ db: fixture.db, memory, store: fixture.conversations, memoryScope: 'per-guild' }) }),
  });
  await adapter.start();
  await peer.waitForAction('get_login_info');
});

afterEach(async () => {
  await adapter?.stop();
  await peer?.close();
  adapter = peer = null;
  await fixture.close();
});

const textOf = (action: RecordedAction) =>
  (action.params.message as Segment[]).filter((segment) => segment.type === 'text').map((segment) => String(segment.data.text)).join('');
const privateTo = (qq: string) => (action: RecordedAction) => action.action === 'send_private_msg' && action.params.user_id === Number(qq);
const groupMessages = () => peer!.actions.filter((action) => action.action === 'send_group_msg');

/** Sends a group message as `qq` and returns the text of the private messages it gets back (at least one). */
async function command(qq: string, line: string, role: 'member' | 'admin' = 'member'): Promise<string> {
  const before = peer!.actions.filter(privateTo(qq)).length;
  peer!.pushGroupMessage({ groupId, userId: qq, member: { role }, message: [text(line)] });
  await waitUntil(() => peer!.actions.filter(privateTo(qq)).length > before, showingActions);
  return peer!.actions.filter(privateTo(qq)).slice(before).map(textOf).join('\n');
}

/** For waitUntil: on a timeout, say which actions the peer saw. */
const showingActions = { describe: () => `actions: ${peer!.actions.map((action) => action.action).join(', ')}` };

describe('/memory over QQ', () => {
  it('show goes to the asker by private message, with only a note in the group; each sees only their own', async () => {
    const shown = await command(aliceQQ, '/memory show');
    expect(shown).toContain('春日 在这里记得的关于你的事');
    expect(shown).toContain('麻糬');
    expect(shown).not.toContain('船长');
    await waitUntil(() => groupMessages().length === 1, showingActions);
    const note = textOf(groupMessages()[0]!).trim();
    expect(note).toBe(translator.t('zh-CN', 'adapters.sent-privately'));
    expect(note).not.toContain('麻糬');

    const bobs = await command(bobQQ, '/memory show');
    expect(bobs).toContain('船长');
    expect(bobs).not.toContain('麻糬');
  });

  it('export arrives as JSON text in a private message (OneBot v11 has no portable upload)', async () => {
    await command(aliceQQ, '/memory export');
    await waitUntil(() => peer!.actions.filter(privateTo(aliceQQ)).length === 2, showingActions);
    const [note, file] = peer!.actions.filter(privateTo(aliceQQ)).map(textOf);
    expect(note).toBe('已附上你在这里与 春日 的 2 条记忆。');
    const [header, ...body] = file!.split('\n');
    expect(header).toBe('📄 omoide-memories.json');
    const parsed = JSON.parse(body.join('\n')) as { platform: string; platformUserId: string; memories: { content: string }[] };
    expect(parsed).toMatchObject({ platform: 'qq', platformUserId: aliceQQ });
    expect(parsed.memories.map((record) => record.content).sort()).toEqual(['阿丽丝是一个开朗的小提琴手。', '阿丽丝有一只叫麻糬的猫。'].sort());
    // nothing of the file in the group
    await waitUntil(() => groupMessages().length === 1, showingActions);
    expect(groupMessages().map(textOf).join('')).not.toContain('麻糬');
  });

  it('search and forget take their argument positionally; another user’s id is refused without saying it exists', async () => {
    expect(await command(aliceQQ, '/memory search 麻糬')).toContain('麻糬');
    const bobsFact = memory.listForUser(bob)[0]!;
    expect(await command(aliceQQ, `/memory forget ${bobsFact.id}`)).toBe(`你没有记忆 #${bobsFact.id}。`);
    expect(memory.listForUser(bob)).toHaveLength(1);
    const alicesFact = memory.listForUser(alice, { kinds: ['fact'] })[0]!;
    expect(await command(aliceQQ, `/memory forget #${alicesFact.id}`)).toContain(`#${alicesFact.id}`);
    expect(memory.listForUser(alice, { kinds: ['fact'] })).toHaveLength(0);
  });

  it('refuses admin subcommands to a member in Chinese, and lets a group admin inspect', async () => {
    expect(await command(aliceQQ, `/memory inspect --user ${bobQQ}`)).toBe('只有管理员可以使用 /memory inspect。');
    expect(await command(aliceQQ, `/memory forget-user --user ${bobQQ}`)).toBe('只有管理员可以使用 /memory forget-user。');
    expect(await command(aliceQQ, '/memory consolidate')).toBe('只有管理员可以使用 /memory consolidate。');
    expect(memory.listForUser(bob)).toHaveLength(1);

    const inspected = await command(aliceQQ, `/memory inspect --user ${bobQQ}`, 'admin');
    expect(inspected).toContain('船长');
    expect(inspected).not.toContain('麻糬');
    expect(await command(aliceQQ, '/memory consolidate', 'admin')).toBe('这里无法进行记忆整理。');
  });

  it('forget-me works with the exact instruction it gives (confirm:CODE) and leaves the other user alone', async () => {
    const asked = await command(aliceQQ, '/memory forget-me');
    const instruction = /\/memory forget-me confirm:[A-Z0-9]{6}/.exec(asked)?.[0];
    expect(instruction, asked).toBeDefined();
    expect(memory.listForUser(alice)).toHaveLength(2);
    const done = await command(aliceQQ, instruction!);
    // her 'hello' in the group goes too
    expect(done).toBe('已完成：删除了 2 条记忆和 1 条消息。春日 在这里不再记得你。');
    const messagesOf = (userId: number) => (fixture.db.prepare('SELECT count(*) AS n FROM messages WHERE user_id = ?').get(userId) as { n: number }).n;
    expect(messagesOf(alice.userId)).toBe(0);
    expect(messagesOf(bob.userId)).toBe(1);
    expect(memory.listForUser(alice)).toHaveLength(0);
    expect(memory.findScopeId(alice)).toBeNull();
    expect(memory.listForUser(bob)).toHaveLength(1);
    // the flag form works too
    const bobAsked = await command(bobQQ, '/memory forget-me');
    const code = /confirm:([A-Z0-9]{6})/.exec(bobAsked)![1]!;
    await command(bobQQ, `/memory forget-me --confirm ${code}`);
    expect(memory.listForUser(bob)).toHaveLength(0);
  });
});
