/**
 * Shared setup for the consolidation tests: a real database with the real migrations, the shipped characters, the
 * real openai client against the loopback fake server, and a scripted "LLM" that answers each consolidation prompt
 * with JSON built from the dialogue it was given.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CharacterCatalog } from '../src/characters/catalog.js';
import { createConsolidator, type Consolidator } from '../src/consolidation/consolidator.js';
import { consolidationSettingsSchema, type ConsolidationSettingsInput } from '../src/consolidation/settings.js';
import { countTokens } from '../src/core/tokens.js';
import { createOpenAiChatModel } from '../src/llm/openai/openai-chat-model.js';
import type { Embedder } from '../src/llm/types.js';
import type { Memory } from '../src/memory/memory.js';
import { formatTurn } from '../src/memory/retrieval.js';
import { memorySettingsSchema } from '../src/memory/settings.js';
import { JobStore } from '../src/store/job-store.js';
import { startFakeOpenAi, type FakeChatCall, type FakeChatReply, type FakeOpenAi } from './fakes/fake-openai-server.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';

export const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
export const hourMs = 3_600_000;
export const dayMs = 24 * hourMs;

export type PromptKind = 'summary' | 'portrait' | 'self_concept' | 'rolling';

export function promptKind(call: FakeChatCall): PromptKind {
  const system = call.messages[0]?.content ?? '';
  if (system.includes('"selfConcept"')) return 'self_concept';
  if (system.includes('"portrait"')) return 'portrait';
  if (system.includes('"events"')) return 'summary';
  return 'rolling';
}

/** The dialogue lines of a prompt, without their time stamps. */
export function dialogueOf(call: FakeChatCall): string[] {
  const body = call.messages[1]?.content ?? '';
  return body
    .split('\n')
    .map((line) => /^\[\d\d-\d\d \d\d:\d\d\] (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined);
}

/** "[12] Alice lives in Tokyo" lines of the known-facts section. */
export function knownFactsOf(call: FakeChatCall): { id: number; content: string }[] {
  const body = call.messages[1]?.content ?? '';
  return [...body.matchAll(/^\[(\d+)\] (.+)$/gm)].map((match) => ({ id: Number(match[1]), content: match[2]! }));
}

/**
 * A well-behaved model: summaries quote the dialogue, "I live in X" becomes a fact that replaces any known
 * "lives in" fact, portraits and self-concepts count their versions.
 */
export function structuredReply(call: FakeChatCall): string {
  const kind = promptKind(call);
  const lines = dialogueOf(call);
  const said = lines.join(' / ');
  switch (kind) {
    case 'summary': {
      const facts = lines.flatMap((line) => {
        const place = /I live in (\w+)/.exec(line)?.[1];
        if (!place) return [];
        const old = knownFactsOf(call).find((fact) => fact.content.includes('lives in'));
        return [{ content: `The user lives in ${place}`, importance: 0.8, replaces: old ? [old.id] : [] }];
      });
      return JSON.stringify({ summary: `Summary: ${said}`, events: [{ content: `Event: ${lines[0] ?? ''}`, importance: 0.4 }], facts });
    }
    case 'portrait': {
      const previous = /Previous portrait:\n(.*)/.exec(call.messages[1]?.content ?? '')?.[1];
      return JSON.stringify({ portrait: `Portrait v${previous ? Number(/v(\d+)/.exec(previous)?.[1] ?? 0) + 1 : 1}: ${said}` });
    }
    case 'self_concept':
      return JSON.stringify({ selfConcept: `Self-concept: I care about this user. ${lines.length} lines.` });
    case 'rolling': {
      const previous = /Previous summary:\n(.*)/.exec(call.messages[1]?.content ?? '')?.[1];
      return JSON.stringify({ summary: `Rolling${previous ? ' (continued)' : ''}: ${lines.length} lines` });
    }
  }
}

export interface ConsolidationFixture {
  readonly base: MemoryFixture;
  readonly fake: FakeOpenAi;
  readonly memory: Memory;
  readonly jobs: JobStore;
  readonly characters: CharacterCatalog;
  consolidator(settings?: ConsolidationSettingsInput, options?: { timeoutMs?: number }): Consolidator;
  /** one user message and the character's reply, stored as the engine would (messages + a turn memory) */
  say(user: string, text: string, reply: string, at: number, options?: { characterId?: string; guildId?: string; platform?: string; platformUserId?: string }): Promise<number>;
  close(): Promise<void>;
}

export async function openConsolidationFixture(
  reply: (call: FakeChatCall) => FakeChatReply | Promise<FakeChatReply> = structuredReply,
  embedder: Embedder | ((fakeUrl: string) => Promise<Embedder>) = createTestEmbedder(),
): Promise<ConsolidationFixture> {
  const base = openMemoryFixture('omoide-consolidation-');
  const fake = await startFakeOpenAi({ reply });
  const memory = base.memory(typeof embedder === 'function' ? await embedder(fake.url) : embedder);
  await memory.ensureEmbeddingSpace();
  const characters = new CharacterCatalog(join(root, 'characters'), 'juniper');
  characters.reload();
  const memorySettings = memorySettingsSchema.parse({ timezone: 'Asia/Shanghai' });
  return {
    base,
    fake,
    memory,
    jobs: new JobStore(base.db),
    characters,
    consolidator(settings = {}, options = {}) {
      const chatModel = createOpenAiChatModel({
        baseURL: fake.url, model: 'fake-model', timeoutMs: options.timeoutMs ?? 5000, maxRetries: 0, retryBaseDelayMs: 10, retryMaxDelayMs: 50,
      });
      return createConsolidator({
        db: base.db, memory, store: base.conversations, chatModel, characters,
        settings: consolidationSettingsSchema.parse({ timezone: 'Asia/Shanghai', requestsPerMinute: 0, ...settings }),
        memorySettings, clock: base.clock,
      });
    },
    async say(user, text, replyText, at, options = {}) {
      const characterId = options.characterId ?? 'juniper';
      const character = characters.get(characterId)!;
      const guildId = options.guildId ?? '';
      const { userId, conversationId, messageId } = base.conversations.recordUserMessage({
        conversation: { platform: options.platform ?? 'discord', guildId, channelId: guildId ? `${guildId}-general` : `dm-${user}`, characterId },
        platformUserId: options.platformUserId ?? `id-${user}`, displayName: user, content: text, tokenCount: countTokens(text), platformMessageId: null, createdAt: at,
      });
      const replyId = base.conversations.recordAssistantMessage({
        conversationId, speakerName: character.name, content: replyText, tokenCount: countTokens(replyText),
        replyToMessageId: messageId, failed: false, createdAt: at + 1000,
      });
      await memory.remember({
        scope: { userId, characterId, guildId: guildId || null }, kind: 'turn',
        content: formatTurn(user, text, character.name, replyText), occurredAt: at, sourceMessageIds: [messageId, replyId],
      });
      return userId;
    },
    async close() {
      await fake.close();
      await base.close();
    },
  };
}
