/**
 * `/memory` on Discord end to end: a real discord.js client against the loopback fake, the real command handler
 * over a real SQLite memory. Asserts on what the fake receives: the registered subcommands and options, ephemeral
 * interaction callbacks (flags 64), the export as a multipart attachment, long answers split under 2000 characters.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiscordAdapter, type DiscordAdapter } from '../src/adapters/discord/adapter.js';
import type { CharacterCatalog } from '../src/characters/catalog.js';
import { createCommandHandler } from '../src/commands/index.js';
import { loadTranslator } from '../src/core/i18n.js';
import type { Engine } from '../src/engine/engine.js';
import type { Memory, MemoryScopeKey } from '../src/memory/memory.js';
import { setLogLevel } from '../src/util/logger.js';
import { localesDirectory } from '../src/util/paths.js';
import { startFakeDiscord, type FakeDiscord, type FakeUser, type RecordedRequest } from './fakes/fake-discord.js';
import { makeCharacter } from './helpers/character.js';
import { createRecordingEngine, createTestRuntime } from './helpers/runtime.js';
import { waitUntil } from './helpers/wait.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';
import { createPersonEraser } from '../src/memory/erase-person.js';

const translator = loadTranslator(localesDirectory);
const character = makeCharacter();
const engine = { characterFor: () => character, localeFor: () => 'en-US' } as unknown as Engine;
const characters = {} as CharacterCatalog;
const guildId = '200000000000000001';
const channelId = '300000000000000001';
const alice: FakeUser = { id: '500000000000000001', username: 'alice', global_name: 'Alice' };
const bob: FakeUser = { id: '500000000000000002', username: 'bob', global_name: 'Bob' };
const manageGuild = '32';
const day = (n: number) => Date.UTC(2024, 4, n, 4);

let fixture: MemoryFixture;
let memory: Memory;
let aliceScope: MemoryScopeKey;
let bobScope: MemoryScopeKey;
let fake: FakeDiscord | null = null;
let adapter: DiscordAdapter | null = null;

function recordUser(user: FakeUser): number {
  return fixture.conversations.recordUserMessage({
    conversation: { platform: 'discord', guildId, channelId, characterId: character.id },
    platformUserId: user.id, displayName: user.username, content: 'hello', tokenCount: 1, platformMessageId: null, createdAt: day(1),
  }).userId;
}

beforeEach(async () => {
  setLogLevel('error');
  fixture = openMemoryFixture('omoide-discord-memory-');
  memory = fixture.memory(createTestEmbedder());
  await memory.ensureEmbeddingSpace();
  aliceScope = { userId: recordUser(alice), characterId: character.id, guildId };
  bobScope = { userId: recordUser(bob), characterId: character.id, guildId };
  await memory.rememberMany([
    { scope: aliceScope, kind: 'portrait', content: 'Alice is a cheerful violinist.', occurredAt: day(10) },
    { scope: aliceScope, kind: 'fact', content: 'Alice has a cat called Mochi.', occurredAt: day(11) },
    { scope: bobScope, kind: 'fact', content: 'Bob keeps a parrot called Captain.', occurredAt: day(11) },
  ]);
  fake = await startFakeDiscord();
  adapter = createDiscordAdapter({
    token: 'fake-bot-token-ABCDEFGHIJKLMNOP', apiBase: fake.apiBase, runtime: createTestRuntime(createRecordingEngine(() => 'unused')), translator, ownerIds: [],
    commands: createCommandHandler({ engine, characters, translator, memory, store: fixture.conversations, memoryScope: 'per-guild',
      erase: createPersonEraser({ db: fixture.db, memory, store: fixture.conversations, memoryScope: 'per-guild' }) }),
  });
  await adapter.start();
});

afterEach(async () => {
  await adapter?.stop();
  await fake?.close();
  adapter = fake = null;
  await fixture.close();
  setLogLevel('info');
});

const isCallback = (request: RecordedRequest) => request.method === 'POST' && /^\/interactions\/\d+\/[^/]+\/callback$/.test(request.path);
const isFollowUp = (request: RecordedRequest) => request.method === 'POST' && /^\/webhooks\/\d+\/[^/]+$/.test(request.path);
interface CallbackBody { type: number; data: { content?: string; flags?: number; attachments?: { id: string | number }[] } }

/** Runs `/memory <subcommand>` as `user` and resolves with the interaction callback the fake received. */
async function command(
  user: FakeUser,
  subcommand: string,
  options: { name: string; type: number; value: string }[] = [],
  extra: { permissions?: string; locale?: string } = {},
): Promise<RecordedRequest> {
  const { id } = fake!.dispatchInteraction({ channelId, guildId, user, name: 'memory', subcommand, options, ...extra });
  return fake!.waitForRequest((request) => isCallback(request) && request.path.startsWith(`/interactions/${id}/`));
}
const callbackData = (request: RecordedRequest) => (request.body as CallbackBody).data;

describe('/memory over Discord', () => {
  it('registers every subcommand with its options', async () => {
    const put = await fake!.waitForRequest((request) => request.method === 'PUT' && request.path.endsWith('/commands'));
    const registered = (put.body as { name: string; options: { name: string; type: number; options: { name: string; type: number; required?: boolean }[] }[] }[])
      .find((entry) => entry.name === 'memory')!;
    expect(registered.options.map((sub) => sub.name)).toEqual(['show', 'search', 'forget', 'forget-me', 'export', 'inspect', 'forget-user', 'consolidate']);
    const optionsOf = (name: string) => registered.options.find((sub) => sub.name === name)!.options.map((option) => [option.name, option.type, option.required ?? false]);
    expect(optionsOf('search')).toEqual([['text', 3, true]]);
    expect(optionsOf('forget-me')).toEqual([['confirm', 3, false]]);
    expect(optionsOf('inspect')).toEqual([['user', 6, true]]);
    expect(optionsOf('consolidate')).toEqual([['user', 6, false]]);
  });

  it('show is ephemeral (flags 64) and shows only the invoker’s memories', async () => {
    const shown = callbackData(await command(alice, 'show'));
    expect(shown.flags).toBe(64);
    expect(shown.content).toContain('Mochi');
    expect(shown.content).not.toContain('Captain');
    const bobs = callbackData(await command(bob, 'show'));
    expect(bobs.flags).toBe(64);
    expect(bobs.content).toContain('Captain');
    expect(bobs.content).not.toContain('Mochi');
  });

  it('export arrives as an ephemeral JSON attachment', async () => {
    const request = await command(alice, 'export');
    const data = callbackData(request);
    expect(data.flags).toBe(64);
    expect(data.content).toBe('Your 2 memories with Tess here are attached.');
    expect(data.attachments).toHaveLength(1);
    expect(request.files).toHaveLength(1);
    expect(request.files[0]!.name).toBe('omoide-memories.json');
    const parsed = JSON.parse(request.files[0]!.content) as { platformUserId: string; memories: { content: string }[] };
    expect(parsed.platformUserId).toBe(alice.id);
    expect(parsed.memories.map((record) => record.content).sort()).toEqual(['Alice has a cat called Mochi.', 'Alice is a cheerful violinist.']);
    expect(request.files[0]!.content).not.toContain('Captain');
  });

  it('a long show is split into ephemeral parts under 2000 characters', async () => {
    await memory.rememberMany(
      Array.from({ length: 25 }, (_, index) => ({
        scope: aliceScope, kind: 'fact' as const, content: `Alice remembers detail ${index}: ${'a long winded story about her violin lessons '.repeat(5)}`,
        occurredAt: day(12) + index * 60_000,
      })),
    );
    const first = callbackData(await command(alice, 'show'));
    const followUps = () => fake!.requests.filter(isFollowUp).map((request) => request.body as { content: string; flags?: number });
    const memoryLines = () => [first.content!, ...followUps().map((part) => part.content)].join('\n').split('\n').filter((line) => line.startsWith('#'));
    // every part arrives: together they hold the portrait and all 26 facts
    await waitUntil(() => memoryLines().length >= 27, { describe: () => `only ${memoryLines().length} memory lines arrived` });
    expect(first.content!.length).toBeLessThanOrEqual(2000);
    expect(first.flags).toBe(64);
    expect(followUps().length).toBeGreaterThan(0);
    for (const part of followUps()) {
      expect(part.content.length).toBeLessThanOrEqual(2000);
      expect(part.flags).toBe(64);
    }
  });

  it('forget refuses an id that is not the invoker’s with the same answer as a missing one', async () => {
    const bobsFact = memory.listForUser(bobScope)[0]!;
    const refused = callbackData(await command(alice, 'forget', [{ name: 'id', type: 3, value: String(bobsFact.id) }]));
    expect(refused).toMatchObject({ content: `You have no memory #${bobsFact.id}.`, flags: 64 });
    expect(callbackData(await command(alice, 'forget', [{ name: 'id', type: 3, value: '999999' }])).content).toBe('You have no memory #999999.');
    expect(callbackData(await command(alice, 'forget', [{ name: 'id', type: 3, value: 'abc' }])).content).toBe('You have no memory abc.');
    expect(memory.listForUser(bobScope)).toHaveLength(1);
  });

  it('refuses admin subcommands without Manage Server, in the user’s locale, and runs them with it', async () => {
    const userOption = [{ name: 'user', type: 6, value: bob.id }];
    expect(callbackData(await command(alice, 'inspect', userOption))).toMatchObject({ content: 'Only server admins can use /memory inspect.', flags: 64 });
    expect(callbackData(await command(alice, 'forget-user', userOption, { locale: 'zh-CN' })).content).toBe('只有管理员可以使用 /memory forget-user。');
    expect(memory.listForUser(bobScope)).toHaveLength(1);

    const inspected = callbackData(await command(alice, 'inspect', userOption, { permissions: manageGuild }));
    expect(inspected.flags).toBe(64);
    expect(inspected.content).toContain('Captain');
    expect(inspected.content).not.toContain('Mochi');
    const unavailable = callbackData(await command(alice, 'consolidate', [], { permissions: manageGuild }));
    expect(unavailable.content).toBe('Memory consolidation is not available here.');
  });
});
