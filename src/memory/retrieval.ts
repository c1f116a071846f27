/**
 * Hybrid retrieval inside one scope: vector KNN (sqlite-vec, the scope's partition) and BM25 (memory_text, the
 * scope's prefixed terms; the question's own scaffolding such as "do you remember" / 你还记得 left out, see
 * segment.ts questionTerms), fused by reciprocal rank, then weighted by the forgetting curve, recency and importance.
 *
 * Scoring, per candidate (all inputs in 0..1):
 *   relevance = Σ over the ranked lists it appears in of 1/(rrfK + rank), divided by the best possible sum
 *               (every list, rank 1), so a memory first in both lists scores 1 and first in one list 0.5.
 *   R         = retention(t, S, c[kind]) with t = days since last recall, or since it happened (forgetting.ts).
 *   recency   = e^(−age / recencyDays), age = days since it happened.
 *   score     = relevance · (retentionFloor + (1 − retentionFloor) · R) · (1 + wRecency · recency + wImportance · importance)
 * Defaults (settings.ts): rrfK 60, retentionFloor 0.5 (a fully faded memory keeps half its relevance: damped, not
 * zeroed), wRecency 0.1, wImportance 0.2. Relevance dominates; the forgetting curve decides between comparable hits.
 *
 * A date question ("what did I say on May 2nd", "上周") narrows candidates to that day range: every recallable memory
 * of the range is a candidate, ranked by vector similarity, BM25 inside the range, and importance as a third list.
 * When the range holds nothing, retrieval falls back to the normal path.
 *
 * Never returned: other scopes (every query is bound to one scope id), superseded and forgotten rows, portraits and
 * self-concepts (their own section), memories made from the current message, turns already in the prompt's history,
 * and near-duplicates of a better-ranked result.
 */
import type { HistoryLine } from '../core/turn.js';
import type { Embedder } from '../llm/types.js';
import { reciprocalRank } from '../search/fusion.js';
import { bigramSet, jaccard } from '../search/similarity.js';
import { questionExpression } from '../search/terms.js';
import type { MemoryRecord, MemoryStore } from '../store/memory-store.js';
import type { TextSearch } from '../store/text-search.js';
import type { VectorTable } from '../store/vector-table.js';
import type { Logger } from '../util/logger.js';
import { parseDateQuery, type DayRange } from './date-query.js';
import { daysBetween, retention } from './forgetting.js';
import type { MemorySettings } from './settings.js';

export interface RetrievalContext {
  readonly store: MemoryStore;
  /** BM25 lookups, on another thread when one runs (they overlap the embedding and the vector search) */
  readonly textSearch: TextSearch;
  readonly embedder: Embedder;
  readonly settings: MemorySettings;
  /** The vectors to search, or null when no active space matches the embedder (then BM25 alone). */
  readonly vectors: () => VectorTable | null;
  readonly logger: Logger;
}

export interface RetrievalRequest {
  readonly scopeId: number;
  readonly query: string;
  /** epoch ms the question was asked (the message's platform time): date questions and decay are relative to it */
  readonly now: number;
  readonly limit?: number;
  /** memories whose source includes one of these messages are skipped (the current message) */
  readonly excludeMessageIds?: readonly number[];
  /** turns already in the prompt's recent history are skipped */
  readonly history?: readonly HistoryLine[];
  /** default true */
  readonly dateAware?: boolean;
  /** whether memories said in private may be returned (a group asking: no) */
  readonly includePrivate: boolean;
}

export interface RankedMemory {
  readonly record: MemoryRecord;
  readonly score: number;
  /** fused rank relevance, 0..1 */
  readonly relevance: number;
  readonly retention: number;
  /** cosine similarity to the query, when a vector was compared */
  readonly similarity: number | null;
  /** 1-based ranks in each list, null when absent from it */
  readonly vectorRank: number | null;
  readonly textRank: number | null;
}

export interface RetrievalResult {
  readonly memories: readonly RankedMemory[];
  /** the day range the query named, if any */
  readonly dateRange: DayRange | null;
  /** whether candidates were narrowed to that range (false when it held nothing) */
  readonly narrowedToRange: boolean;
}

interface Candidate {
  vectorRank: number | null;
  textRank: number | null;
  extraRank: number | null;
  similarity: number | null;
}

/** How a turn is archived; shared with the archive listener so history deduplication compares like with like. */
export function formatTurn(userName: string, userText: string, characterName: string, reply: string): string {
  return `${userName}: ${userText}\n${characterName}: ${reply}`;
}

/** Oversized memory text is cut, never refused. */
export function truncateMemory(text: string, maxChars: number): string {
  const characters = Array.from(text);
  return characters.length <= maxChars ? text : `${characters.slice(0, Math.max(1, maxChars - 1)).join('')}…`;
}

/** The prompt item for a memory: `[2023-05-02] text`. */
export function formatMemoryItem(record: MemoryRecord): string {
  return `[${record.day}] ${record.content}`;
}

function dot(left: Float32Array, right: Float32Array): number {
  let sum = 0;
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) sum += left[index]! * right[index]!;
  return sum;
}

/** The archived form of each (user line, reply) pair in the history, to recognise turns already in the prompt. */
function historyTurns(history: readonly HistoryLine[], maxChars: number): Set<string> {
  const turns = new Set<string>();
  for (let index = 0; index + 1 < history.length; index++) {
    const line = history[index]!;
    const next = history[index + 1]!;
    if (line.role === 'user' && next.role === 'assistant') {
      turns.add(truncateMemory(formatTurn(line.speakerName, line.content, next.speakerName, next.content), maxChars));
    }
  }
  return turns;
}

async function embedQuery(context: RetrievalContext, query: string): Promise<Float32Array | null> {
  try {
    const [vector] = await context.embedder.embed([query], { purpose: 'query' });
    if (!vector || vector.length !== context.embedder.dimension) {
      context.logger.warn('the embedder returned no usable query vector; using text search alone', { embedder: context.embedder.id });
      return null;
    }
    return vector;
  } catch (error) {
    // A down embedding server must not cost the user their reply: fall back to BM25.
    context.logger.warn('embedding the query failed; using text search alone', { embedder: context.embedder.id, error });
    return null;
  }
}

/** How much a memory from a vaguely named time ("the other day") is preferred. */
const vagueDateBonus = 0.25;

export async function retrieveMemories(context: RetrievalContext, request: RetrievalRequest): Promise<RetrievalResult> {
  const { store, settings } = context;
  const options = settings.retrieval;
  const limit = request.limit ?? options.limit;
  const dateRange = request.dateAware === false ? null : parseDateQuery(request.query, request.now, settings.timezone);
  const table = context.vectors();
  const match = questionExpression(request.scopeId, request.query);

  // A precise date narrows the search to its days; a vague one ("a few days ago") only favours them.
  const narrowingRange = dateRange && !dateRange.vague ? dateRange : null;
  const favouredRange = dateRange?.vague ? dateRange : null;
  const rangeIds = narrowingRange ? store.idsInDayRange(request.scopeId, narrowingRange, options.maxRangeCandidates) : [];
  const narrowedToRange = narrowingRange !== null && rangeIds.length > 0;
  // Started first, awaited last: it runs while the query is embedded and the vectors are searched.
  const textHits = match
    ? context.textSearch.candidates(request.scopeId, match, options.candidates, narrowedToRange ? narrowingRange : undefined)
    : Promise.resolve([]);
  textHits.catch(() => {}); // awaited below; a throw before then must not leave it unhandled
  const queryVector = table ? await embedQuery(context, request.query) : null;

  const candidates = new Map<number, Candidate>();
  const entry = (id: number): Candidate => {
    let candidate = candidates.get(id);
    if (!candidate) {
      candidate = { vectorRank: null, textRank: null, extraRank: null, similarity: null };
      candidates.set(id, candidate);
    }
    return candidate;
  };
  let lists = 0;

  if (narrowedToRange) {
    if (table && queryVector) {
      const vectors = table.vectorsOf(rangeIds);
      const bySimilarity = [...vectors].map(([id, vector]) => ({ id, similarity: dot(queryVector, vector) }));
      bySimilarity.sort((left, right) => right.similarity - left.similarity);
      bySimilarity.slice(0, options.candidates).forEach(({ id, similarity }, index) => {
        Object.assign(entry(id), { vectorRank: index + 1, similarity });
      });
      lists++;
    }
    if (match) {
      (await textHits).forEach(({ id }, index) => {
        entry(id).textRank = index + 1;
      });
      lists++;
    }
    // The range itself is the main signal, so every memory in it takes part, important ones first.
    const byImportance = store.getMany(rangeIds).sort((left, right) => right.importance - left.importance || right.occurredAt - left.occurredAt);
    byImportance.slice(0, options.candidates).forEach((record, index) => {
      entry(record.id).extraRank = index + 1;
    });
    lists++;
  } else {
    if (table && queryVector) {
      const nearest = table.nearest(request.scopeId, queryVector, options.candidates * 2, options.vectorShortlist).slice(0, options.candidates);
      nearest.forEach(({ id, distance }, index) => {
        Object.assign(entry(id), { vectorRank: index + 1, similarity: 1 - distance });
      });
      lists++;
    }
    if (match) {
      (await textHits).forEach(({ id }, index) => {
        entry(id).textRank = index + 1;
      });
      lists++;
    }
    // A vector-only hit that is barely similar is noise (KNN always returns k rows); BM25 hits share a term.
    for (const [id, candidate] of candidates) {
      if (candidate.textRank === null && (candidate.similarity ?? -1) < options.minVectorSimilarity) candidates.delete(id);
    }
  }
  if (candidates.size === 0) return { memories: [], dateRange, narrowedToRange };

  const excluded = new Set(request.excludeMessageIds ?? []);
  const inHistory = historyTurns(request.history ?? [], settings.maxMemoryChars);
  const best = lists * reciprocalRank(1, options.rrfK);
  const ranked: RankedMemory[] = [];
  for (const record of store.getMany([...candidates.keys()])) {
    // Every list is already bound to the scope; this re-check makes a leak impossible even through a future bug.
    if (record.scopeId !== request.scopeId) continue;
    if (record.private && !request.includePrivate) continue;
    if (record.sourceMessageIds.some((id) => excluded.has(id))) continue;
    if (record.kind === 'turn' && inHistory.has(record.content)) continue;
    const candidate = candidates.get(record.id)!;
    const fused = [candidate.vectorRank, candidate.textRank, candidate.extraRank].reduce<number>(
      (sum, rank) => (rank === null ? sum : sum + reciprocalRank(rank, options.rrfK)),
      0,
    );
    const relevance = best > 0 ? fused / best : 0;
    const sinceRecall = daysBetween(record.lastRecalledAt ?? record.occurredAt, request.now);
    const kept = retention(sinceRecall, record.strength, settings.decay[record.kind]);
    const recency = Math.exp(-Math.max(0, daysBetween(record.occurredAt, request.now)) / options.recencyDays);
    const { retentionFloor, recency: recencyWeight, importance: importanceWeight } = options.weights;
    const favoured = favouredRange !== null && record.day >= favouredRange.from && record.day <= favouredRange.to;
    const score =
      relevance * (retentionFloor + (1 - retentionFloor) * kept) * (1 + recencyWeight * recency + importanceWeight * record.importance) *
      (favoured ? 1 + vagueDateBonus : 1);
    ranked.push({
      record, score, relevance, retention: kept, similarity: candidate.similarity,
      vectorRank: candidate.vectorRank, textRank: candidate.textRank,
    });
  }
  ranked.sort((left, right) => right.score - left.score || right.record.occurredAt - left.record.occurredAt);

  const chosen: RankedMemory[] = [];
  const chosenGrams: Set<string>[] = [];
  for (const item of ranked) {
    if (chosen.length >= limit) break;
    const grams = bigramSet(item.record.content);
    if (chosenGrams.some((kept) => jaccard(kept, grams) >= options.duplicateSimilarity)) continue;
    chosen.push(item);
    chosenGrams.push(grams);
  }
  return { memories: chosen, dateRange, narrowedToRange };
}
