/**
 * The conversation engine: one incoming message in, one reply out. It stores the message, asks the context
 * providers (memories, scenes, lorebook, world) for their items, lays out the prompt, asks the chat model, stores
 * the reply. It knows no platform: adapters hand it IncomingMessages.
 */
import type { CharacterCatalog } from '../characters/catalog.js';
import type { Character } from '../characters/character.js';
import { stripScriptEcho } from '../characters/script-format.js';
import type { PromptBudgets } from '../config.js';
import type { ChatModel } from '../llm/types.js';
import { LlmError } from '../llm/types.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { Logger } from '../util/logger.js';
import { createLogger } from '../util/logger.js';
import type { Clock } from './clock.js';
import { InputError } from './errors.js';
import type { Translator } from './i18n.js';
import type { EngineReply, IncomingMessage, MessageHandler } from './message.js';
import { isAddressed } from './message.js';
import type { ContextSectionName, HistoryLine } from './prompt.js';
import { buildPrompt } from './prompt.js';
import { countTokens } from './tokens.js';

export interface EngineSettings {
  readonly locale: 'auto' | 'zh-CN' | 'en-US';
  readonly historyMessages: number;
  readonly maxMessageChars: number;
  readonly budgets: PromptBudgets;
  readonly contextWindow: number;
  readonly maxReplyTokens: number;
  readonly temperature: number;
}

/** What a context provider sees of the turn being answered. */
export interface Turn {
  readonly message: IncomingMessage;
  readonly character: Character;
  readonly userId: number;
  readonly conversationId: number;
  readonly messageId: number;
  readonly history: readonly HistoryLine[];
  readonly locale: string;
}

/** Fills one optional prompt section, best item first (memory recall, script scenes, lorebook, world). */
export interface ContextProvider {
  readonly section: ContextSectionName;
  collect(turn: Turn): Promise<readonly string[]> | readonly string[];
  /** Told which of its items made it into the prompt (indexes into what collect returned), e.g. to strengthen them. */
  included?(turn: Turn, indexes: readonly number[]): void;
}

/** Told about every answered turn (e.g. to archive it as memory). Failures are logged, never shown to users. */
export interface TurnListener {
  onTurnComplete(turn: Turn, reply: { readonly text: string; readonly messageId: number }): Promise<void> | void;
}

export interface EngineDependencies {
  readonly store: ConversationStore;
  readonly characters: CharacterCatalog;
  readonly chatModel: ChatModel;
  readonly translator: Translator;
  readonly clock: Clock;
  readonly settings: EngineSettings;
  readonly contextProviders?: readonly ContextProvider[];
  readonly turnListeners?: readonly TurnListener[];
  readonly logger?: Logger;
}

export interface Engine extends MessageHandler {
  /** The character that speaks in a channel (set by /persona or the terminal's /character), or the default. */
  characterFor(platform: string, guildId: string | null, channelId: string): Character;
  setCharacter(platform: string, guildId: string | null, channelId: string, characterId: string): Character;
  localeFor(character: Character): string;
  /** Resolves when every queued message has been answered. */
  idle(): Promise<void>;
}

export function createEngine(dependencies: EngineDependencies): Engine {
  const { store, characters, chatModel, translator, clock, settings } = dependencies;
  const logger = dependencies.logger ?? createLogger('engine');
  const providers = dependencies.contextProviders ?? [];
  const listeners = dependencies.turnListeners ?? [];
  // Messages of one channel are answered in order; different channels run side by side.
  const queues = new Map<string, Promise<unknown>>();

  const localeFor = (character: Character) => (settings.locale === 'auto' ? character.language : settings.locale);

  const characterFor = (platform: string, guildId: string | null, channelId: string): Character => {
    const chosen = store.channelCharacter(platform, guildId ?? '', channelId);
    return (chosen && characters.get(chosen)) || characters.defaultCharacter();
  };

  function enqueue<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    queues.set(key, settled);
    void settled.then(() => {
      if (queues.get(key) === settled) queues.delete(key);
    });
    return next;
  }

  async function answer(message: IncomingMessage, options: { signal?: AbortSignal; onTyping?: () => void }): Promise<EngineReply> {
    const startedAt = clock.now().getTime();
    const character = characterFor(message.platform, message.guildId, message.channelId);
    const locale = localeFor(character);
    let text = message.text.trim();
    if (text.length > settings.maxMessageChars) {
      text = `${text.slice(0, settings.maxMessageChars)}\n${translator.t(locale, 'engine.truncated', { limit: settings.maxMessageChars })}`;
    }
    const stored = store.recordUserMessage({
      conversation: {
        platform: message.platform,
        guildId: message.guildId ?? '',
        channelId: message.channelId,
        characterId: character.id,
      },
      platformUserId: message.author.id,
      displayName: message.author.displayName,
      content: text,
      tokenCount: countTokens(text),
      platformMessageId: message.messageId,
      createdAt: message.timestamp.getTime(),
    });
    const history: HistoryLine[] = store
      .recentMessages(stored.conversationId, settings.historyMessages + 1)
      .filter((line) => line.id !== stored.messageId && !line.failed);
    const turn: Turn = { message: { ...message, text }, character, ...stored, history, locale };

    const context: Partial<Record<ContextSectionName, string[]>> = {};
    const contributions: { provider: ContextProvider; offset: number; count: number }[] = [];
    for (const provider of providers) {
      const items = await provider.collect(turn);
      const section = (context[provider.section] ??= []);
      contributions.push({ provider, offset: section.length, count: items.length });
      section.push(...items);
    }
    const prompt = buildPrompt({
      character,
      userName: message.author.displayName,
      isGroup: message.guildId !== null && !message.addressing.direct,
      locale,
      translator,
      context,
      history,
      current: { speakerName: message.author.displayName, content: text },
      budgets: settings.budgets,
      contextWindow: character.model.contextWindow ?? settings.contextWindow,
      replyReserve: character.model.maxReplyTokens ?? settings.maxReplyTokens,
    });
    logger.debug('prompt built', { character: character.id, tokens: prompt.totalTokens, sections: prompt.sections });
    for (const { provider, offset, count } of contributions) {
      if (!provider.included) continue;
      const kept = (prompt.keptItems[provider.section] ?? []).filter((index) => index >= offset && index < offset + count);
      provider.included(turn, kept.map((index) => index - offset));
    }

    options.onTyping?.();
    let replyText: string;
    try {
      replyText = await generate(prompt.messages, character, options.signal);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const kind = error instanceof LlmError ? error.kind : 'internal';
      logger.warn('reply failed; sending the apology', { character: character.id, kind, error });
      return { characterId: character.id, characterName: character.name, text: translator.t(locale, 'engine.apology'), failure: { kind, reason }, locale };
    }
    // The reply's time is the message's platform time plus how long we took, so replayed days keep their order.
    const repliedAt = message.timestamp.getTime() + Math.max(1, clock.now().getTime() - startedAt);
    const replyId = store.recordAssistantMessage({
      conversationId: stored.conversationId,
      speakerName: character.name,
      content: replyText,
      tokenCount: countTokens(replyText),
      replyToMessageId: stored.messageId,
      failed: false,
      createdAt: repliedAt,
    });
    for (const listener of listeners) {
      try {
        await listener.onTurnComplete(turn, { text: replyText, messageId: replyId });
      } catch (error) {
        logger.error('turn listener failed', { error });
      }
    }
    return { characterId: character.id, characterName: character.name, text: replyText, failure: null, locale };
  }

  async function generate(messages: Parameters<ChatModel['stream']>[0]['messages'], character: Character, signal?: AbortSignal) {
    let text = '';
    for await (const part of chatModel.stream({
      messages,
      maxTokens: character.model.maxReplyTokens ?? settings.maxReplyTokens,
      temperature: character.model.temperature ?? settings.temperature,
      ...(character.model.topP !== undefined ? { topP: character.model.topP } : {}),
      ...(signal ? { signal } : {}),
    })) {
      if (part.type === 'text-delta') text += part.text;
    }
    const cleaned = stripScriptEcho(text.trim(), [character.name, ...character.aliases]).trim();
    if (!cleaned) throw new LlmError('the model returned an empty reply', chatModel.provider, 'bad-response', true);
    return cleaned;
  }

  return {
    characterFor,
    localeFor,
    setCharacter(platform, guildId, channelId, characterId) {
      const character = characters.get(characterId);
      if (!character) throw new InputError(`unknown character "${characterId}"`);
      store.setChannelCharacter(platform, guildId ?? '', channelId, character.id, clock.now().getTime());
      return character;
    },
    async handle(message, options = {}) {
      if (!isAddressed(message) || message.author.isBot) return null;
      if (!message.text.trim()) return null;
      return enqueue(`${message.platform}\u0000${message.guildId ?? ''}\u0000${message.channelId}`, () => answer(message, options));
    },
    async idle() {
      while (queues.size > 0) await Promise.all([...queues.values()]);
    },
  };
}
