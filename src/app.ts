/**
 * Composition root: config → store → characters → chat model → engine. Shared by `npm start`, the CLI and tests;
 * close() releases everything in reverse order.
 */
import { CharacterCatalog } from './characters/catalog.js';
import { createLorebookProvider } from './characters/lorebook-provider.js';
import { createWorldProvider } from './characters/world-provider.js';
import type { Clock } from './core/clock.js';
import { systemClock } from './core/clock.js';
import type { Engine } from './core/engine.js';
import { createEngine } from './core/engine.js';
import type { CharacterError } from './core/errors.js';
import type { Translator } from './core/i18n.js';
import { loadTranslator } from './core/i18n.js';
import type { OmoideConfig } from './config.js';
import { createChatModel } from './llm/create-chat-model.js';
import type { ChatModel } from './llm/types.js';
import type { SqliteDatabase } from './store/db.js';
import { openDatabase } from './store/db.js';
import { ConversationStore } from './store/conversation-store.js';
import { registerSecret } from './util/logger.js';
import { localesDirectory } from './util/paths.js';


export interface App {
  readonly config: OmoideConfig;
  readonly db: SqliteDatabase;
  readonly store: ConversationStore;
  readonly characters: CharacterCatalog;
  readonly characterErrors: readonly CharacterError[];
  readonly translator: Translator;
  readonly chatModel: ChatModel;
  readonly engine: Engine;
  readonly clock: Clock;
  close(): Promise<void>;
}

export interface AppOverrides {
  readonly clock?: Clock;
  readonly chatModel?: ChatModel;
}

export function createApp(config: OmoideConfig, overrides: AppOverrides = {}): App {
  for (const secret of [config.llm.apiKey, config.discord.token, config.qq.token]) registerSecret(secret);
  const clock = overrides.clock ?? systemClock;
  const translator = loadTranslator(localesDirectory);
  const characters = new CharacterCatalog(config.charactersDir, config.defaultCharacter);
  const characterErrors = characters.reload();
  const db = openDatabase(config.databasePath);
  const store = new ConversationStore(db);
  const chatModel = overrides.chatModel ?? createChatModel(config.llm);
  const engine = createEngine({
    store,
    characters,
    chatModel,
    translator,
    clock,
    settings: {
      locale: config.locale,
      historyMessages: config.prompt.historyMessages,
      maxMessageChars: config.prompt.maxMessageChars,
      budgets: config.prompt.budgets,
      contextWindow: config.llm.contextWindow,
      maxReplyTokens: config.llm.maxReplyTokens,
      temperature: config.llm.temperature,
    },
    contextProviders: [
      createWorldProvider(characters),
      createLorebookProvider(characters, { budgetTokens: config.prompt.budgets.lorebook }),
    ],
  });
  return {
    config, db, store, characters, characterErrors, translator, chatModel, engine, clock,
    async close() {
      await engine.idle();
      db.close();
    },
  };
}
