/**
 * Searching one character's script for the chunks nearest to a query: the vector nearest (a SimHash shortlist
 * re-scored by cosine, store/vector-table.ts) and BM25 over the text terms, fused by reciprocal rank
 * (search/fusion.ts), always inside that character's partition.
 */
import type { Embedder } from '../llm/types.js';
import { fuseRanks } from '../search/fusion.js';
import { queryExpression } from '../search/terms.js';
import type { ScriptIndexState, ScriptStore } from '../store/script-store.js';
import { maxShortlist } from '../store/vector-table.js';
import type { Logger } from '../util/logger.js';

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

export interface ScriptQueryOptions {
  readonly limit: number;
  readonly signal?: AbortSignal;
}

export interface ScriptSearchOptions {
  readonly store: ScriptStore;
  readonly embedder: Embedder;
  readonly logger: Logger;
}

export interface ScriptSearch {
  /** The character's chunks most relevant to `query`, best first, at most `limit`; [] when it has no index. */
  search(characterId: string, query: string, options: ScriptQueryOptions): Promise<ScriptSearchHit[]>;
}

/**
 * How deep each ranked list goes for an answer of `limit`: deeper than the answer, so a chunk ranked well by one
 * list and moderately by the other can win.
 */
export function candidateDepth(limit: number): number {
  return Math.min(maxShortlist, Math.max(limit * 3, 30));
}

/** Codes shortlisted per vector candidate, and never fewer than a small script's whole partition. */
const shortlistPerCandidate = 2;
const minimumShortlist = 200;

/**
 * The SimHash shortlist for `k` vector candidates (the table caps it at maxShortlist). Scenes ask for 96 (32 scenes);
 * on the bench's 2,000-chunk script (npm run bench:scripts) 200 codes keep all of the exact top 96, 128 keep 98%
 * and 96 keep 90% (the top 10 whole each time), and each 100 codes more cost ~1 ms a turn. A script of up to 200
 * chunks is re-scored whole, exactly.
 */
export function scriptShortlist(k: number): number {
  return Math.max(minimumShortlist, shortlistPerCandidate * k);
}

export function createScriptSearch(options: ScriptSearchOptions): ScriptSearch {
  const { store, embedder, logger } = options;

  /** The indexed chunk ids nearest to the query's vector, best first; none when the index is another embedder's. */
  async function vectorRanking(state: ScriptIndexState, query: string, depth: number, signal?: AbortSignal): Promise<number[]> {
    if (state.embedderId !== embedder.id || state.dimension !== embedder.dimension) {
      // Vectors of another embedder are not comparable with this one's; until re-indexed, text search alone.
      logger.debug('script index made by another embedder; searching text only', {
        character: state.characterId,
        indexedWith: state.embedderId,
      });
      return [];
    }
    const [vector] = await embedder.embed([query], { purpose: 'query', ...(signal ? { signal } : {}) });
    if (!vector) return [];
    return store.vectorCandidates(state.characterId, state.dimension, vector, depth, scriptShortlist(depth)).map((hit) => hit.id);
  }

  return {
    async search(characterId, query, searchOptions) {
      const limit = Math.floor(searchOptions.limit);
      const state = store.state(characterId);
      if (!state || state.chunkCount === 0 || limit <= 0) return [];
      const depth = candidateDepth(limit);
      const byVector = await vectorRanking(state, query, depth, searchOptions.signal);
      const match = queryExpression(state.key, query);
      const byText = match ? store.textCandidates(characterId, match, depth).map((hit) => hit.id) : [];

      // Ties go to the earlier chunk id, so equal scores come back in one order every time.
      const best = [...fuseRanks([byVector, byText])].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, limit);
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
  };
}
