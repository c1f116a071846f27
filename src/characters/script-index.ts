/**
 * A character's script, indexed for the "classic scenes" (Chat-Haruhi-Suzumiya): the facade the app and the scenes
 * provider use. The work is in two pieces: script-indexer.ts embeds and writes a character's chunks once per script
 * and embedder, script-search.ts finds the chunks nearest to a query. This file adds what spans characters — one
 * indexing at a time per character, and the startup pass over all of them.
 */
import { OmoideError } from '../core/errors.js';
import type { Embedder } from '../llm/types.js';
import type { SqliteDatabase } from '../store/db.js';
import type { ScriptIndexState } from '../store/script-store.js';
import { ScriptStore } from '../store/script-store.js';
import { createKeyedQueue } from '../util/keyed-queue.js';
import type { Logger } from '../util/logger.js';
import { createLogger } from '../util/logger.js';
import type { Character } from './character.js';
import { createScriptIndexer, defaultEmbedBatchSize, type EnsureIndexedResult } from './script-indexer.js';
import { createScriptSearch, type ScriptQueryOptions, type ScriptSearchHit } from './script-search.js';

export type { ScriptIndexState } from '../store/script-store.js';
export type { EnsureIndexedResult } from './script-indexer.js';
export type { ScriptQueryOptions, ScriptSearchHit } from './script-search.js';

export interface EnsureAllResult extends EnsureIndexedResult {
  readonly characterId: string;
  /** set when this character's script could not be indexed (the others still were) */
  readonly error?: OmoideError;
}

export interface ScriptIndex {
  /**
   * Embeds and writes the character's chunks unless its index already holds this script (hash) for this embedder
   * (id and dimension). A character without a script (or with no non-empty chunk) loses any index it had.
   * `onProgress(done, total)` is called with 0 first and after each embedded batch. Calls for one character run one
   * after another, so a second caller waits and then finds the index current.
   */
  ensureIndexed(character: Character, onProgress?: (done: number, total: number) => void): Promise<EnsureIndexedResult>;
  /**
   * ensureIndexed for each character in turn. An OmoideError (an unreadable chunk file, an embedder that is down) is
   * logged and reported in that character's result, and the others go on; any other error is thrown.
   */
  ensureAll(
    characters: readonly Character[],
    onProgress?: (characterId: string, done: number, total: number) => void,
  ): Promise<EnsureAllResult[]>;
  /** Whether the character's index matches its current script and this embedder (no script: whether none is left). */
  isCurrent(character: Character): boolean;
  /** The character's chunks most relevant to `query`, best first, at most `limit`; [] when it has no index. */
  search(characterId: string, query: string, options: ScriptQueryOptions): Promise<ScriptSearchHit[]>;
  /** Forgets a character's index (rows, text terms, vectors); returns whether there was one. */
  remove(characterId: string): boolean;
  /** What the character's index was built from, or null when it has none. */
  state(characterId: string): ScriptIndexState | null;
}

export interface ScriptIndexOptions {
  readonly db: SqliteDatabase;
  readonly embedder: Embedder;
  readonly logger?: Logger;
  /** For indexed_at; defaults to the system clock. */
  readonly clock?: { now(): Date };
  /** Texts per embed call; default 64. */
  readonly batchSize?: number;
}

export function createScriptIndex(options: ScriptIndexOptions): ScriptIndex {
  const { embedder } = options;
  const store = new ScriptStore(options.db);
  const logger = options.logger ?? createLogger('characters:scripts');
  const indexer = createScriptIndexer({
    store,
    embedder,
    logger,
    now: () => (options.clock?.now() ?? new Date()).getTime(),
    batchSize: options.batchSize ?? defaultEmbedBatchSize,
  });
  const { search } = createScriptSearch({ store, embedder, logger });
  // One indexing at a time per character: a provider noticing a changed script and the startup pass must not both
  // embed it.
  const queue = createKeyedQueue();

  function ensureIndexed(character: Character, onProgress?: (done: number, total: number) => void): Promise<EnsureIndexedResult> {
    return queue.run(character.id, () => indexer.index(character, onProgress));
  }

  return {
    ensureIndexed,

    async ensureAll(characters, onProgress) {
      const results: EnsureAllResult[] = [];
      for (const character of characters) {
        try {
          const result = await ensureIndexed(character, onProgress && ((done, total) => onProgress(character.id, done, total)));
          results.push({ characterId: character.id, ...result });
        } catch (error) {
          if (!(error instanceof OmoideError)) throw error;
          logger.warn('script not indexed; the character speaks without classic scenes', { character: character.id, error: error.message });
          results.push({ characterId: character.id, indexed: false, chunks: store.state(character.id)?.chunkCount ?? 0, error });
        }
      }
      return results;
    },

    isCurrent: indexer.isCurrent,
    search,

    remove(characterId) {
      return store.remove(characterId);
    },

    state(characterId) {
      return store.state(characterId);
    },
  };
}
