/**
 * The conversation engine: one message in, one reply out, as one character. It stores the message, collects the
 * context providers' items (memories, scenes, lorebook, world) side by side and lays them out in the prompt in a
 * fixed order, asks the chat model, stores the reply, and tells the turn listeners without holding the reply back.
 * It knows no platform and decides nothing about whether to answer: the adapter runtime (src/adapters/runtime) hands
 * it the messages it decided to answer, one channel's in order, with the character it resolved for them.
 */
import type { CharacterCatalog } from '../characters/catalog.js';
import type { Character } from '../characters/character.js';
import { stripScriptEcho } from '../characters/script-format.js';
import type { Clock } from '../core/clock.js';
import { InputError } from '../core/errors.js';
import type { Translator } from '../core/i18n.js';
import type { EngineReply, IncomingMessage } from '../core/message.js';
import { countTokens } from '../core/tokens.js';
import type { ContextProvider, ContextSectionName, HistoryLine, Turn, TurnListener } from '../core/turn.js';
import type { ChatModel } from '../llm/types.js';
import { LlmError } from '../llm/types.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { Logger } from '../util/logger.js';
import { createLogger } from '../util/logger.js';
import { buildPrompt } from './prompt.js';
import type { PromptBudgets } from './settings.js';

export interface EngineSettings {
  readonly locale: 'auto' | 'zh-CN' | 'en-US';
  readonly historyMessages: number;
  readonly maxMessageChars: number;
  readonly budgets: PromptBudgets;
  readonly contextWindow: number;
  readonly maxReplyTokens: number;
  readonly temperature: number;
}

/** A turn as the engine's providers and listeners see it: with the full character model. */
export type CharacterTurn = Turn<Character>;
export type CharacterContextProvider = ContextProvider<Character>;
export type CharacterTurnListener = TurnListener<Character>;

export interface EngineDependencies {
  readonly store: ConversationStore;
  readonly characters: CharacterCatalog;
  readonly chatModel: ChatModel;
  readonly translator: Translator;
  readonly clock: Clock;
  readonly settings: EngineSettings;
  readonly contextProviders?: readonly CharacterContextProvider[];
  readonly turnListeners?: readonly CharacterTurnListener[];
  readonly logger?: Logger;
}

export interface AnswerOptions {
  /** who answers: resolved once, by the caller, with characterFor */
  readonly character: Character;
  readonly signal?: AbortSignal;
  /** called once, when generation starts, so a platform can show that the character is typing */
  readonly onTyping?: () => void;
}

export interface Engine {
  /** The character that speaks in a channel (set by /persona or the terminal's /character), or the default. */
  characterFor(platform: string, guildId: string | null, channelId: string): Character;
  setCharacter(platform: string, guildId: string | null, channelId: string, characterId: string): Character;
  localeFor(character: Character): string;
  /**
   * Answers one message (its text not blank) as `options.character`. When the model fails for good the reply is the
   * localized apology with `failure` set; the message is stored either way.
   */
  answer(message: IncomingMessage, options: AnswerOptions): Promise<EngineReply>;
  /** The character's localized apology, for a message that could not be answered because of `cause`. */
  apology(character: Character, cause: unknown): EngineReply;
  /** Resolves when what the turn listeners do in the background (archiving turns as memories) is done. */
  idle(): Promise<void>;
}

export function createEngine(dependencies: EngineDependencies): Engine {
  const { store, characters, chatModel, translator, clock, settings } = dependencies;
  const logger = dependencies.logger ?? createLogger('engine');
  const providers = dependencies.contextProviders ?? [];
  const listeners = dependencies.turnListeners ?? [];
  const background = new Set<Promise<void>>();

  const localeFor = (character: Character) => (settings.locale === 'auto' ? character.language : settings.locale);

  const characterFor = (platform: string, guildId: string | null, channelId: string): Character => {
    const chosen = store.channelCharacter(platform, guildId ?? '', channelId);
    return (chosen && characters.get(chosen)) || characters.defaultCharacter();
  };

  /** Every provider's items, asked side by side, placed in the provider order. */
  async function collectContext(turn: CharacterTurn) {
    const collected = await Promise.all(providers.map((provider) => provider.collect(turn)));
    const context: Partial<Record<ContextSectionName, string[]>> = {};
    const contributions = providers.map((provider, index) => {
      const items = collected[index]!;
      const section = (context[provider.section] ??= []);
      const contribution = { provider, offset: section.length, count: items.length };
      section.push(...items);
      return contribution;
    });
    return { context, contributions };
  }

  /** Runs the listeners now; what they leave running is tracked for idle(), and its failures only logged. */
  function notifyListeners(turn: CharacterTurn, reply: { text: string; messageId: number }): void {
    for (const listener of listeners) {
      let outcome: Promise<void> | void;
      try {
        outcome = listener.onTurnComplete(turn, reply);
      } catch (error) {
        logger.error('turn listener failed', { error });
        continue;
      }
      if (!outcome) continue;
      const tracked = outcome.catch((error: unknown) => logger.error('turn listener failed', { error }));
      background.add(tracked);
      void tracked.finally(() => background.delete(tracked));
    }
  }

  async function answer(message: IncomingMessage, options: AnswerOptions): Promise<EngineReply> {
    const { character } = options;
    const startedAt = clock.now().getTime();
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
    const turn: CharacterTurn = { message: { ...message, text }, character, ...stored, history, locale };

    const { context, contributions } = await collectContext(turn);
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
      logger.warn('reply failed; sending the apology', { character: character.id, kind: error instanceof LlmError ? error.kind : 'internal', error });
      return apology(character, error);
    }
    if (!store.messageExists(stored.messageId)) {
      // The person was erased (forget-me) while the reply was written: it goes out, but nothing of it is kept.
      logger.debug('the message was erased while it was answered; the reply is not stored', { character: character.id });
      return { characterId: character.id, characterName: character.name, text: replyText, failure: null, locale };
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
    notifyListeners(turn, { text: replyText, messageId: replyId });
    return { characterId: character.id, characterName: character.name, text: replyText, failure: null, locale };
  }

  function apology(character: Character, cause: unknown): EngineReply {
    const locale = localeFor(character);
    const failure = { kind: cause instanceof LlmError ? cause.kind : 'internal', reason: cause instanceof Error ? cause.message : String(cause) };
    return { characterId: character.id, characterName: character.name, text: translator.t(locale, 'engine.apology'), failure, locale };
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
    answer,
    apology,
    async idle() {
      while (background.size > 0) await Promise.all([...background]);
    },
  };
}
