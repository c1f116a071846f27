import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CharacterCatalog } from '../src/characters/catalog.js';
import { createEngine, type Engine } from '../src/engine/engine.js';
import { createMemoriesProvider } from '../src/engine/providers/memories-provider.js';
import { createPortraitProvider } from '../src/engine/providers/portrait-provider.js';
import { createTurnArchiver } from '../src/engine/turn-archiver.js';
import { loadTranslator } from '../src/core/i18n.js';
import type { IncomingMessage } from '../src/core/message.js';
import { createOpenAiChatModel } from '../src/llm/openai/openai-chat-model.js';
import type { Memory } from '../src/memory/memory.js';
import { localesDirectory, shippedCharactersDirectory } from '../src/util/paths.js';
import { startFakeOpenAi, type FakeOpenAi } from './fakes/fake-openai-server.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';
import { ask } from './helpers/runtime.js';
import { createPersonEraser } from '../src/memory/erase-person.js';

let fixture: MemoryFixture;
let openai: FakeOpenAi;
let memory: Memory;
let engine: Engine;
let sequence = 0;
const at = (day: number, hour = 12) => new Date(Date.UTC(2024, 4, day, hour - 8));

beforeEach(async () => {
  fixture = openMemoryFixture('omoide-memory-engine-');
  openai = await startFakeOpenAi();
  memory = fixture.memory(createTestEmbedder());
  await memory.ensureEmbeddingSpace();
  const characters = new CharacterCatalog(shippedCharactersDirectory, 'juniper');
  characters.reload();
  engine = createEngine({
    store: fixture.conversations,
    characters,
    chatModel: createOpenAiChatModel({ model: 'fake-model', baseURL: openai.url, apiKey: 'sk-test', timeoutMs: 2000, maxRetries: 0, retryBaseDelayMs: 1, retryMaxDelayMs: 1 }),
    translator: loadTranslator(localesDirectory),
    clock: fixture.clock,
    settings: {
      locale: 'en-US', historyMessages: 2, maxMessageChars: 2000, contextWindow: 8192, maxReplyTokens: 256, temperature: 0.5,
      budgets: { system: 1200, world: 600, lorebook: 600, portrait: 400, memories: 1500, scenes: 1500, examples: 600, history: 3000, current: 1000 },
    },
    contextProviders: [createMemoriesProvider(memory), createPortraitProvider(memory)],
    turnListeners: [createTurnArchiver(memory)],
  });
});
afterEach(async () => {
  await engine.idle();
  await openai.close();
  await fixture.close();
});

function say(userId: string, name: string, text: string, when: Date): IncomingMessage {
  return {
    platform: 'discord', guildId: 'guild-1', channelId: 'channel-1', messageId: `m${++sequence}`,
    author: { id: userId, displayName: name }, text,
    addressing: { mentioned: true, repliedToBot: false, direct: false }, replyTo: null, timestamp: when,
  };
}

const lastSystemPrompt = () => {
  const body = openai.chatRequests().at(-1)!.body as { messages: { role: string; content: string }[] };
  return body.messages[0]!.content;
};

describe('memory wired into the engine', () => {
  it('archives turns, recalls them for the same person weeks later, strengthens them, and never for someone else', async () => {
    await ask(engine, say('u1', 'Aki', 'My cat is called Mochi and she is three', at(1)));
    await ask(engine, say('u1', 'Aki', 'It rained all day', at(2)));
    await ask(engine, say('u1', 'Aki', 'I had noodles for lunch', at(2, 13)));
    const scope = { userId: fixture.conversations.findUserId('discord', 'u1')!, characterId: 'juniper', guildId: 'guild-1' };
    expect(memory.listForUser(scope).map((record) => record.sourceMessageIds)).toHaveLength(3);

    await ask(engine, say('u1', 'Aki', 'Do you remember what my cat is called?', at(20)));
    const prompt = lastSystemPrompt();
    expect(prompt).toContain('[2024-05-01] Aki: My cat is called Mochi and she is three\nJuniper Hale: echo: Aki: My cat is called Mochi and she is three');
    const mochi = memory.listForUser(scope).find((record) => record.content.startsWith('Aki: My cat is called Mochi'))!;
    expect(mochi).toMatchObject({ strength: 2, recallCount: 1, lastRecalledAt: at(20).getTime() });

    await ask(engine, say('u2', 'Bo', 'What is the name of Aki’s cat? Mochi?', at(20, 13)));
    expect(lastSystemPrompt()).not.toContain('My cat is called Mochi');
  });
});

describe('a forget-me while the person is being answered', () => {
  it('lets the reply go out but keeps nothing of it: no message, no memory, no user row comes back', async () => {
    await openai.close();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let asked!: () => void;
    const askedModel = new Promise<void>((resolve) => (asked = resolve));
    openai = await startFakeOpenAi({ reply: async () => (asked(), await gate, 'Of course I remember.') });
    const characters = new CharacterCatalog(shippedCharactersDirectory, 'juniper');
    characters.reload();
    const slowEngine = createEngine({
      store: fixture.conversations, characters, translator: loadTranslator(localesDirectory), clock: fixture.clock,
      chatModel: createOpenAiChatModel({ model: 'fake-model', baseURL: openai.url, apiKey: 'sk-test', timeoutMs: 5000, maxRetries: 0, retryBaseDelayMs: 1, retryMaxDelayMs: 1 }),
      settings: {
        locale: 'en-US', historyMessages: 2, maxMessageChars: 2000, contextWindow: 8192, maxReplyTokens: 256, temperature: 0.5,
        budgets: { system: 1200, world: 600, lorebook: 600, portrait: 400, memories: 1500, scenes: 1500, examples: 600, history: 3000, current: 1000 },
      },
      contextProviders: [createMemoriesProvider(memory)],
      turnListeners: [createTurnArchiver(memory)],
    });
    const answering = ask(slowEngine, say('u9', 'Nine', 'remember my bike is red', at(3)));
    await askedModel; // the message is stored and the model is writing
    const userId = fixture.conversations.findUserId('discord', 'u9')!;
    const erase = createPersonEraser({ db: fixture.db, memory, store: fixture.conversations, memoryScope: 'per-guild' });
    erase({ userId, characterId: 'juniper', guildId: 'guild-1' });
    release();
    expect((await answering).text).toBe('Of course I remember.');
    await slowEngine.idle();
    await memory.idle();
    const count = (sql: string) => (fixture.db.prepare(sql).get() as { n: number }).n;
    expect(count(`SELECT count(*) AS n FROM messages`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM memories`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM memory_scopes`)).toBe(0);
    expect(fixture.conversations.findUserId('discord', 'u9')).toBeNull();
  });
});
