/**
 * A character's script, indexed for the "classic scenes" (Chat-Haruhi-Suzumiya): each chunk (one `script/texts/*.txt`
 * excerpt) is embedded and put in the full-text index once — when the script's hash or the embedder changes, never
 * per message. Search fuses vector KNN and BM25 by reciprocal rank, always inside one character's partition.
 *
 * Embedding is async and happens first, in batches; the rows, terms and vectors are then written in one synchronous
 * transaction, so an embedder that fails half-way leaves the previous index exactly as it was.
 */
import { join } from 'node:path';
import { OmoideError } from '../core/errors.js';
import { countTokens } from '../core/tokens.js';
import type { Embedder } from '../llm/types.js';
import { LlmError } from '../llm/types.js';
import { queryExpression, scopePrefix, segmentText } from '../search/terms.js';
import type { SqliteDatabase } from '../store/db.js';
import type { ScriptChunkWrite, ScriptIndexState } from '../store/script-store.js';
import { ScriptStore } from '../store/script-store.js';
import type { Logger } from '../util/logger.js';
import { createLogger } from '../util/logger.js';
import type { Character } from './character.js';
import { maxScriptFileBytes } from './script-folder.js';
import { readTextFile } from './text-files.js';

export type { ScriptIndexState } from '../store/script-store.js';

/** Reciprocal rank fusion constant (Cormack et al.; the value memory retrieval and most hybrid search use). */
export const rrfK = 60;
export const defaultEmbedBatchSize = 64;

export interface ScriptSearchHit {
  readonly chunkId: number;
  /** the chunk's position in the script (natural file order), from 0 */
  readonly ordinal: number;
  /** the file inside script/texts/ */
  readonly file: string;
  readonly text: string;
  /** countTokens(text), counted once at indexing */
  readonly tokens: number;
  /** fused reciprocal-rank score, higher is better */
  readonly score: number;
}

export interface EnsureIndexedResult {
  /** true when the chunks were (re-)embedded and written now */
  readonly indexed: boolean;
  /** chunks in the character's index after the call */
  readonly chunks: number;
}

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
  search(characterId: string, query: string, options: { readonly limit: number; readonly signal?: AbortSignal }): Promise<ScriptSearchHit[]>;
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

/** A chunk file's text as it is shown: byte-order mark dropped, line ends normalized, outer blank space trimmed. */
export function readChunkText(path: string): string {
  return readTextFile(path, maxScriptFileBytes, 'a script file')
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .trim();
}

export function createScriptIndex(options: ScriptIndexOptions): ScriptIndex {
  const { embedder } = options;
  const store = new ScriptStore(options.db);
  const logger = options.logger ?? createLogger('characters:scripts');
  const batchSize = Math.max(1, options.batchSize ?? defaultEmbedBatchSize);
  const now = () => (options.clock?.now() ?? new Date()).getTime();
  // One indexing at a time per character: a provider noticing a changed script and the startup pass must not both
  // embed it.
  const queues = new Map<string, Promise<unknown>>();

  const matches = (state: ScriptIndexState | null, character: Character): boolean => {
    const script = character.script;
    if (!script || script.chunkCount === 0) return state === null;
    return (
      state !== null &&
      state.scriptHash === script.hash &&
      state.embedderId === embedder.id &&
      state.dimension === embedder.dimension
    );
  };

  async function embedAll(texts: readonly string[], onProgress?: (done: number, total: number) => void): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    onProgress?.(0, texts.length);
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = texts.slice(start, start + batchSize);
      const embedded = await embedder.embed(batch, { purpose: 'document' });
      if (embedded.length !== batch.length) {
        throw new LlmError(`the embedder ${embedder.id} returned ${embedded.length} vectors for ${batch.length} texts`, embedder.id, 'bad-response', false);
      }
      vectors.push(...embedded);
      onProgress?.(vectors.length, texts.length);
    }
    return vectors;
  }

  async function index(character: Character, onProgress?: (done: number, total: number) => void): Promise<EnsureIndexedResult> {
    const state = store.state(character.id);
    const script = character.script;
    if (!script || script.chunkCount === 0) {
      if (state && store.remove(character.id)) logger.info('script index removed: the character has no script now', { character: character.id });
      return { indexed: false, chunks: 0 };
    }
    if (matches(state, character)) return { indexed: false, chunks: state!.chunkCount };

    const started = Date.now();
    const chunks = script.chunkFiles
      .map((file) => ({ file, text: readChunkText(join(script.textsDirectory, file)) }))
      // A file emptied since the catalog loaded it has nothing to show.
      .filter((chunk) => chunk.text !== '');
    const vectors = await embedAll(chunks.map((chunk) => chunk.text), onProgress);
    const writes: ScriptChunkWrite[] = chunks.map((chunk, position) => ({
      file: chunk.file,
      text: chunk.text,
      tokenCount: countTokens(chunk.text),
      terms: segmentText(chunk.text),
      vector: vectors[position]!,
    }));
    const written = store.replace(
      {
        characterId: character.id,
        scriptHash: script.hash,
        embedderId: embedder.id,
        dimension: embedder.dimension,
        indexedAt: now(),
        chunks: writes,
      },
      scopePrefix,
    );
    logger.info('script indexed', {
      character: character.id,
      chunks: written.chunkCount,
      embedder: embedder.id,
      reason: state === null ? 'new' : state.scriptHash !== script.hash ? 'script changed' : 'embedder changed',
      ms: Date.now() - started,
    });
    return { indexed: true, chunks: written.chunkCount };
  }

  function ensureIndexed(character: Character, onProgress?: (done: number, total: number) => void): Promise<EnsureIndexedResult> {
    const previous = queues.get(character.id) ?? Promise.resolve();
    const run = () => index(character, onProgress);
    // Runs after the previous indexing of this character whatever its outcome (its own caller saw its error).
    const next = previous.then(run, run);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    queues.set(character.id, settled);
    void settled.then(() => {
      if (queues.get(character.id) === settled) queues.delete(character.id);
    });
    return next;
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

    isCurrent(character) {
      return matches(store.state(character.id), character);
    },

    async search(characterId, query, searchOptions) {
      const limit = Math.floor(searchOptions.limit);
      const state = store.state(characterId);
      if (!state || state.chunkCount === 0 || limit <= 0) return [];
      // Each list is deeper than the answer, so a chunk ranked well by one and moderately by the other can win.
      const depth = Math.min(4096, Math.max(limit * 3, 30));
      const fused = new Map<number, number>();
      const add = (id: number, rank: number) => fused.set(id, (fused.get(id) ?? 0) + 1 / (rrfK + rank));

      if (state.embedderId === embedder.id && state.dimension === embedder.dimension) {
        const [vector] = await embedder.embed([query], {
          purpose: 'query',
          ...(searchOptions.signal ? { signal: searchOptions.signal } : {}),
        });
        if (vector) store.vectorCandidates(characterId, state.dimension, vector, depth).forEach((hit, index) => add(hit.id, index + 1));
      } else {
        // Vectors of another embedder are not comparable with this one's; until re-indexed, text search alone.
        logger.debug('script index made by another embedder; searching text only', { character: characterId, indexedWith: state.embedderId });
      }
      const match = queryExpression(state.key, query);
      if (match) store.textCandidates(characterId, match, depth).forEach((hit, index) => add(hit.id, index + 1));

      const best = [...fused.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, limit);
      const scores = new Map(best);
      return store.chunks(best.map(([id]) => id)).map((chunk) => ({
        chunkId: chunk.id,
        ordinal: chunk.ordinal,
        file: chunk.file,
        text: chunk.text,
        tokens: chunk.tokenCount,
        score: scores.get(chunk.id)!,
      }));
    },

    remove(characterId) {
      return store.remove(characterId);
    },

    state(characterId) {
      return store.state(characterId);
    },
  };
}
