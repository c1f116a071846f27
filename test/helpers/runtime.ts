/**
 * A recording stand-in for the engine, and a runtime around it: adapter tests drive the real adapter and the real
 * runtime pipeline, with answers scripted per message.
 */
import type { Character } from '../../src/characters/character.js';
import type { EngineReply, IncomingMessage } from '../../src/core/message.js';
import type { AnswerOptions, Engine } from '../../src/engine/engine.js';
import { createMessageRuntime, type MessageRuntime, type MessageRuntimeOptions } from '../../src/adapters/runtime/runtime.js';
import type { z } from 'zod';
import { isQQConfigured, qqSettingsSchema, type QQConnectionSettings } from '../../src/adapters/qq/settings.js';
import { makeCharacter } from './character.js';

export type Script = (message: IncomingMessage, options: AnswerOptions) => Promise<string> | string;

export interface RecordingEngine extends Pick<Engine, 'characterFor' | 'answer' | 'apology'> {
  /** every message the engine was asked to answer, in order */
  readonly received: IncomingMessage[];
}

/** Answers with `script`'s text as `character`; shows typing first, as the real engine does once generation starts. */
export function createRecordingEngine(script: Script, character: Character = makeCharacter({ id: 'alice-char', name: 'Alice' })): RecordingEngine {
  const received: IncomingMessage[] = [];
  return {
    received,
    characterFor: () => character,
    async answer(message, options) {
      received.push(message);
      options.onTyping?.();
      const text = await script(message, options);
      const reply: EngineReply = { characterId: character.id, characterName: character.name, text, failure: null, locale: character.language };
      return reply;
    },
    apology(_character, cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      return { characterId: character.id, characterName: character.name, text: `sorry (${reason})`, failure: { kind: 'internal', reason }, locale: character.language };
    },
  };
}

/** A runtime with no cooldown unless asked. */
export function createTestRuntime(engine: MessageRuntimeOptions['engine'], options: Partial<MessageRuntimeOptions> = {}): MessageRuntime {
  return createMessageRuntime({ engine, cooldownMs: 0, ...options });
}

/** QQ connection settings as config.yaml's `qq:` would give them, validated by the real schema. */
export function qqSettings(input: z.input<typeof qqSettingsSchema> & { selfId: string }): QQConnectionSettings {
  const settings = qqSettingsSchema.parse({ cooldownMs: 0, ...input });
  if (!isQQConfigured(settings)) throw new Error('qqSettings: selfId is required');
  return settings;
}

/** Answers a message the way the runtime does once it decided to: as the character of the message's channel. */
export function ask(engine: Pick<Engine, 'characterFor' | 'answer'>, message: IncomingMessage, options: Omit<AnswerOptions, 'character'> = {}): Promise<EngineReply> {
  return engine.answer(message, { ...options, character: engine.characterFor(message.platform, message.guildId, message.channelId) });
}
