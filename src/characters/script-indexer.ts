/**
 * Building a character's script index: each chunk (one `script/texts/*.txt` excerpt) is read, embedded and written
 * with its text terms — once per script and embedder, never per message.
 *
 * Embedding is async and happens first, in batches; the rows, terms and vectors are then written in one synchronous
 * transaction (ScriptStore.replace), so an embedder that fails half-way leaves the previous index exactly as it was.
 */
import { join } from 'node:path';
import { countTokens } from '../core/tokens.js';
import type { Embedder } from '../llm/types.js';
import { LlmError } from '../llm/types.js';
import { segmentText } from '../search/terms.js';
import type { ScriptChunkWrite, ScriptIndexState, ScriptStore } from '../store/script-store.js';
import type { Logger } from '../util/logger.js';
import type { Character } from './character.js';
import { maxScriptFileBytes } from './script-folder.js';
import { readTextFile } from './text-files.js';

export const defaultEmbedBatchSize = 64;

export interface EnsureIndexedResult {
  /** true when the chunks were (re-)embedded and written now */
  readonly indexed: boolean;
  /** chunks in the character's index after the call */
  readonly chunks: number;
}

export interface ScriptIndexerOptions {
  readonly store: ScriptStore;
  readonly embedder: Embedder;
  readonly logger: Logger;
  /** milliseconds since the epoch, for indexed_at */
  readonly now: () => number;
  /** texts per embed call */
  readonly batchSize: number;
}

export interface ScriptIndexer {
  /**
   * Brings the character's index in line with its script and the embedder: re-embeds and rewrites it when either
   * changed, removes it when the character has no script (or no non-empty chunk) now, otherwise does nothing.
   * Not serialized: the caller runs one at a time per character.
   */
  index(character: Character, onProgress?: (done: number, total: number) => void): Promise<EnsureIndexedResult>;
  /** Whether the character's index matches its current script and this embedder (no script: whether none is left). */
  isCurrent(character: Character): boolean;
}

/** A chunk file's text as it is shown: byte-order mark dropped, line ends normalized, outer blank space trimmed. */
export function readChunkText(path: string): string {
  return readTextFile(path, maxScriptFileBytes, 'a script file')
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .trim();
}

/** Whether an index state holds this character's script as this embedder embeds it; no script wants no state. */
export function indexMatches(state: ScriptIndexState | null, character: Character, embedder: Embedder): boolean {
  const script = character.script;
  if (!script || script.chunkCount === 0) return state === null;
  return (
    state !== null &&
    state.scriptHash === script.hash &&
    state.embedderId === embedder.id &&
    state.dimension === embedder.dimension
  );
}

/**
 * The document vectors of `texts`, `batchSize` per embed call, in order. `onProgress(done, total)` is called with 0
 * first and after each batch. An embedder that answers a batch with the wrong number of vectors is an LlmError.
 */
export async function embedInBatches(
  embedder: Embedder,
  texts: readonly string[],
  batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<Float32Array[]> {
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

export function createScriptIndexer(options: ScriptIndexerOptions): ScriptIndexer {
  const { store, embedder, logger, now } = options;
  const batchSize = Math.max(1, options.batchSize);

  async function index(character: Character, onProgress?: (done: number, total: number) => void): Promise<EnsureIndexedResult> {
    const state = store.state(character.id);
    const script = character.script;
    if (!script || script.chunkCount === 0) {
      if (state && store.remove(character.id)) logger.info('script index removed: the character has no script now', { character: character.id });
      return { indexed: false, chunks: 0 };
    }
    if (indexMatches(state, character, embedder)) return { indexed: false, chunks: state!.chunkCount };

    const started = Date.now();
    const chunks = script.chunkFiles
      .map((file) => ({ file, text: readChunkText(join(script.textsDirectory, file)) }))
      // A file emptied since the catalog loaded it has nothing to show.
      .filter((chunk) => chunk.text !== '');
    const vectors = await embedInBatches(embedder, chunks.map((chunk) => chunk.text), batchSize, onProgress);
    const writes: ScriptChunkWrite[] = chunks.map((chunk, position) => ({
      file: chunk.file,
      text: chunk.text,
      tokenCount: countTokens(chunk.text),
      terms: segmentText(chunk.text),
      vector: vectors[position]!,
    }));
    const written = store.replace({
      characterId: character.id,
      scriptHash: script.hash,
      embedderId: embedder.id,
      dimension: embedder.dimension,
      indexedAt: now(),
      chunks: writes,
    });
    logger.info('script indexed', {
      character: character.id,
      chunks: written.chunkCount,
      embedder: embedder.id,
      reason: state === null ? 'new' : state.scriptHash !== script.hash ? 'script changed' : 'embedder changed',
      ms: Date.now() - started,
    });
    return { indexed: true, chunks: written.chunkCount };
  }

  return {
    index,
    isCurrent(character) {
      return indexMatches(store.state(character.id), character, embedder);
    },
  };
}
