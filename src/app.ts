/**
 * Composition root: config → store → characters → chat model, embedder → memory → engine, consolidator. Shared by `npm start`, the
 * CLI and tests; close() releases everything in reverse order. Creating an app is async because the embedder may
 * load a model and the memory's embedding space may need a re-embed before the first message is served.
 */
import { CharacterCatalog } from './characters/catalog.js';
import type { ScriptIndex } from './characters/script-index.js';
import { createScriptIndex } from './characters/script-index.js';
import type { Consolidator, RunDueResult } from './consolidation/consolidator.js';
import { createConsolidator } from './consolidation/consolidator.js';
import type { Clock } from './core/clock.js';
import { systemClock } from './core/clock.js';
import { OmoideError, type CharacterError } from './core/errors.js';
import type { Engine, EngineSettings } from './engine/engine.js';
import { createEngine } from './engine/engine.js';
import { createLorebookProvider } from './engine/providers/lorebook-provider.js';
import { createMemoriesProvider } from './engine/providers/memories-provider.js';
import { createPortraitProvider } from './engine/providers/portrait-provider.js';
import { createScenesProvider } from './engine/providers/scenes-provider.js';
import { createWorldProvider } from './engine/providers/world-provider.js';
import { createTurnArchiver } from './engine/turn-archiver.js';
import type { Translator } from './core/i18n.js';
import { loadTranslator } from './core/i18n.js';
import type { OmoideConfig } from './config.js';
import { createChatModel } from './llm/create-chat-model.js';
import type { ChatModel, Embedder } from './llm/types.js';
import { createEmbedder } from './memory/create-embedder.js';
import type { Memory, ReembedProgress } from './memory/memory.js';
import { createMemory } from './memory/memory.js';
import { createPersonEraser, type PersonEraser } from './memory/erase-person.js';
import type { SqliteDatabase } from './store/db.js';
import { openDatabase } from './store/db.js';
import { ConversationStore } from './store/conversation-store.js';
import { createLogger, registerSecret } from './util/logger.js';
import { localesDirectory } from './util/paths.js';


const appLogger = createLogger('app');

export interface App {
  readonly config: OmoideConfig;
  readonly db: SqliteDatabase;
  readonly store: ConversationStore;
  readonly characters: CharacterCatalog;
  readonly characterErrors: readonly CharacterError[];
  readonly translator: Translator;
  readonly chatModel: ChatModel;
  readonly embedder: Embedder;
  readonly memory: Memory;
  readonly scriptIndex: ScriptIndex;
  readonly consolidator: Consolidator;
  readonly engine: Engine;
  /** Erases everything kept about a person in one scope, in one transaction (`/memory forget-me`). */
  readonly erasePerson: PersonEraser;
  /**
   * Runs due consolidation now for a scope (`/memory consolidate`), in the app's lifetime: close() cancels it (its
   * jobs are handed back untouched) and waits for it.
   */
  consolidateNow(scope: { characterId: string; guildId: string | null; userId?: number }): Promise<RunDueResult>;
  /** Indexes new or changed scripts in the background (after `/persona reload`); close() waits for it. */
  reindexScripts(): void;
  readonly clock: Clock;
  /** Cancels what runs in the background, waits for it, then closes the database. */
  close(): Promise<void>;
}

export interface AppOverrides {
  readonly clock?: Clock;
  readonly chatModel?: ChatModel;
  readonly embedder?: Embedder;
  /** Told how a re-embed after an embedder change progresses (the CLI draws a bar). */
  readonly onReembedProgress?: (progress: ReembedProgress) => void;
  /** Told how indexing a character's script progresses (at start, when a script is new or changed). */
  readonly onScriptIndexProgress?: (characterId: string, done: number, total: number) => void;
}

/** The engine's settings, as the config gives them. */
export function engineSettingsOf(config: OmoideConfig): EngineSettings {
  return {
    locale: config.locale,
    historyMessages: config.prompt.historyMessages,
    maxMessageChars: config.prompt.maxMessageChars,
    budgets: config.prompt.budgets,
    contextWindow: config.llm.contextWindow,
    maxReplyTokens: config.llm.maxReplyTokens,
    temperature: config.llm.temperature,
  };
}

export async function createApp(config: OmoideConfig, overrides: AppOverrides = {}): Promise<App> {
  for (const secret of [config.llm.apiKey, config.discord.token, config.qq.token, config.qq.secret, config.memory.embedder.apiKey]) registerSecret(secret);
  const clock = overrides.clock ?? systemClock;
  const translator = loadTranslator(localesDirectory);
  const characters = new CharacterCatalog(config.charactersDir, config.defaultCharacter);
  const characterErrors = characters.reload();
  const embedder = overrides.embedder ?? (await createEmbedder(config.memory.embedder, config.llm));
  const db = openDatabase(config.databasePath, { synchronous: config.synchronous });
  const store = new ConversationStore(db);
  const chatModel = overrides.chatModel ?? createChatModel(config.llm);
  const memory = createMemory({ db, embedder, settings: config.memory, clock });
  const scriptIndex = createScriptIndex({ db, embedder, clock });
  try {
    await memory.ensureEmbeddingSpace(overrides.onReembedProgress);
    // Scripts are embedded once, here or at import, never per message; one unreadable script only logs.
    await scriptIndex.ensureAll(characters.list(), overrides.onScriptIndexProgress);
  } catch (error) {
    db.close();
    throw error;
  }
  const engine = createEngine({
    store,
    characters,
    chatModel,
    translator,
    clock,
    settings: engineSettingsOf(config),
    contextProviders: [
      createWorldProvider(characters),
      createLorebookProvider(characters, { budgetTokens: config.prompt.budgets.lorebook }),
      createScenesProvider({ characters, scriptIndex }),
      createMemoriesProvider(memory),
      createPortraitProvider(memory),
    ],
    turnListeners: [createTurnArchiver(memory)],
  });
  const consolidator = createConsolidator({
    db, memory, store, chatModel, characters, settings: config.consolidation, memorySettings: config.memory, clock,
  });
  const erasePerson = createPersonEraser({ db, memory, store, memoryScope: config.memory.scope });
  const closing = new AbortController();
  const background = new Set<Promise<unknown>>();
  const inBackground = <T>(work: Promise<T>): Promise<T> => {
    background.add(work);
    void work.then(() => background.delete(work), () => background.delete(work));
    return work;
  };
  return {
    erasePerson,
    config, db, store, characters, characterErrors, translator, chatModel, embedder, memory, scriptIndex, consolidator, engine, clock,
    consolidateNow(scope) {
      return inBackground(consolidator.runDue({ ...scope, signal: closing.signal }));
    },
    reindexScripts() {
      // One unreadable script only logs (ensureAll); anything else is a bug worth the log's attention too.
      void inBackground(scriptIndex.ensureAll(characters.list())).catch((error: unknown) => appLogger.error('re-indexing scripts failed', { error }));
    },
    async close() {
      closing.abort(new OmoideError('omoide is stopping'));
      await Promise.allSettled([...background]);
      await engine.idle();
      await memory.close();
      db.close();
    },
  };
}
