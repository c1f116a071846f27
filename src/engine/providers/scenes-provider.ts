/**
 * The prompt's "classic scenes" section (Chat-Haruhi-Suzumiya's core idea): each turn, the script chunks nearest to
 * what the person said — asked in script form, `name:「text」`, as the chunks are written — packed best first under
 * the character's script budget (ChatHaruhi's max_len_story, heading included as ChatHaruhi counts its prefix).
 *
 * Packing: first fit, best first, whole chunks. When that yields fewer than `minChunks` and the script has more
 * candidates, the budget still wins — it is the one limit that is never exceeded — and minChunks is honoured by
 * trimming: the best `minChunks` candidates share the budget (a chunk shorter than its share keeps all of it, the
 * rest keep whole lines up to their share). When the budget is too small for even that (under `minShareTokens` a
 * chunk), the whole chunks that fit are all there is. The prompt layout then packs the items under the section's own
 * budget (config prompt.budgets.scenes), whole items only.
 *
 * Duplicates: a chunk with a line the recent history already holds is left out (the model sees it there, and seeing
 * it twice invites repeating it word for word); a chunk with the same text as one chosen before it, or more than half
 * of whose lines were already offered (overlapping excerpts), is left out too.
 */
import type { CharacterContextProvider, CharacterTurn } from '../engine.js';
import { countTokens, truncateToTokens } from '../../core/tokens.js';
import type { Logger } from '../../util/logger.js';
import { createLogger } from '../../util/logger.js';
import type { CharacterCatalog } from '../../characters/catalog.js';
import type { ScriptSettings } from '../../characters/character.js';
import { parseScriptText } from '../../characters/chatharuhi/parse-texts.js';
import type { ScriptIndex, ScriptSearchHit } from '../../characters/script-index.js';
import { toScriptLine } from '../../characters/script-format.js';

/** The prompt pays for the section heading out of the same budget (as the lorebook provider reserves it). */
export const sceneHeadingAllowanceTokens = 16;
/** Between two items the prompt puts a blank line. */
export const sceneSeparatorTokens = 1;
/** Below this many tokens per chunk, trimming to reach minChunks would leave fragments, not scenes. */
export const minShareTokens = 24;
/** A line shorter than this (normalized) is too common ("嗯。", "Yes.") to prove a chunk is already in the history. */
export const minSignificantLineLength = 6;
/** Candidates asked of the index per turn: enough to fill the budget after duplicates are skipped. */
export const defaultSceneCandidates = 32;

export interface ScenesProviderOptions {
  /** The catalog, for the character's current version (a reload may have changed its script). */
  readonly characters: Pick<CharacterCatalog, 'get'>;
  readonly scriptIndex: ScriptIndex;
  readonly logger?: Logger;
  /** Candidates asked of the index per turn; default 32. */
  readonly candidates?: number;
}

export interface SceneCandidate {
  readonly text: string;
  /** countTokens(text) */
  readonly tokens: number;
}

/** What a chunk costs inside the section: its tokens and the separator before the next one. */
export function sceneCost(text: string): number {
  return countTokens(text) + sceneSeparatorTokens;
}

/** Lowercased, width-folded, without spaces and punctuation: how a line is compared with the history. */
function normalizeLine(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
}

/** The normalized spoken or narrated lines of a chunk (speaker names, quotes and directions removed). */
export function significantLines(text: string): string[] {
  const lines = parseScriptText(text, '').lines.map((line) => normalizeLine(line.text));
  return [...new Set(lines.filter((line) => Array.from(line).length >= minSignificantLineLength))];
}

/** Whole lines of `text` from the top while they fit `budget` tokens; a first line alone too long is cut. */
function trimToTokens(text: string, budget: number): string {
  if (countTokens(text) <= budget) return text;
  const lines = text.split('\n');
  let kept = '';
  for (const line of lines) {
    const candidate = kept === '' ? line : `${kept}\n${line}`;
    if (countTokens(candidate) > budget) break;
    kept = candidate;
  }
  return kept.trim() !== '' ? kept : truncateToTokens(text, budget);
}

/**
 * Chooses the scenes, best first, from candidates already ranked and deduplicated. Every returned text satisfies
 * sum(sceneCost) + sceneHeadingAllowanceTokens <= settings.budgetTokens.
 */
export function packScenes(candidates: readonly SceneCandidate[], settings: ScriptSettings): string[] {
  const available = settings.budgetTokens - sceneHeadingAllowanceTokens;
  if (available <= 0) return [];
  const chosen: number[] = [];
  let used = 0;
  candidates.forEach((candidate, index) => {
    const cost = candidate.tokens + sceneSeparatorTokens;
    if (used + cost <= available) {
      chosen.push(index);
      used += cost;
    }
  });
  const wanted = Math.min(settings.minChunks, candidates.length);
  if (chosen.length >= wanted) return chosen.map((index) => candidates[index]!.text);

  // Fewer whole chunks fit than minChunks asks for: the best `wanted` share the budget, shortest served first so
  // that what a short chunk does not need goes to the longer ones (water filling).
  if (Math.floor(available / wanted) - sceneSeparatorTokens < minShareTokens) return chosen.map((index) => candidates[index]!.text);
  const best = candidates.slice(0, wanted);
  const allotted = new Map<number, number>();
  let left = available;
  const byLength = best.map((candidate, index) => ({ index, cost: candidate.tokens + sceneSeparatorTokens })).sort((a, b) => a.cost - b.cost);
  byLength.forEach(({ index, cost }, position) => {
    const share = Math.floor(left / (byLength.length - position));
    const granted = Math.min(cost, share);
    allotted.set(index, granted);
    left -= granted;
  });
  return best
    .map((candidate, index) => trimToTokens(candidate.text, allotted.get(index)! - sceneSeparatorTokens))
    .filter((text) => text.trim() !== '');
}

/**
 * Leaves out hits with a line the history already holds, and hits that mostly repeat those kept before them (same
 * text, or more than half of their lines). Order is kept.
 */
export function dedupeScenes(hits: readonly ScriptSearchHit[], historyTexts: readonly string[]): ScriptSearchHit[] {
  const history = historyTexts.map(normalizeLine).filter((text) => text !== '');
  const seenLines = new Set<string>();
  const seenTexts = new Set<string>();
  const kept: ScriptSearchHit[] = [];
  for (const hit of hits) {
    const whole = normalizeLine(hit.text);
    if (whole === '' || seenTexts.has(whole)) continue;
    const lines = significantLines(hit.text);
    if (lines.some((line) => history.some((text) => text.includes(line)))) continue;
    if (lines.length > 0 && lines.filter((line) => seenLines.has(line)).length * 2 > lines.length) continue;
    kept.push(hit);
    seenTexts.add(whole);
    for (const line of lines) seenLines.add(line);
  }
  return kept;
}

export function createScenesProvider(options: ScenesProviderOptions): CharacterContextProvider {
  const logger = options.logger ?? createLogger('characters:scenes');
  const candidateCount = Math.max(1, options.candidates ?? defaultSceneCandidates);
  const { scriptIndex } = options;

  return {
    section: 'scenes',
    async collect(turn: CharacterTurn) {
      const character = options.characters.get(turn.character.id) ?? turn.character;
      if (!character.script || character.script.chunkCount === 0) return [];
      try {
        if (!scriptIndex.isCurrent(character)) {
          // Normally done at start or import; a script changed while running is indexed once, here.
          logger.info('indexing a new or changed script before using it', { character: character.id, chunks: character.script.chunkCount });
          await scriptIndex.ensureIndexed(character);
        }
        const query = toScriptLine(turn.message.author.displayName, turn.message.text);
        const hits = await scriptIndex.search(character.id, query, { limit: candidateCount });
        const fresh = dedupeScenes(hits, turn.history.map((line) => line.content));
        return packScenes(fresh, character.scriptSettings);
      } catch (error) {
        // Scenes make the reply better, not possible: without them the character still answers.
        logger.warn('classic scenes unavailable for this turn', {
          character: character.id,
          error: error instanceof Error ? error.message : String(error),
        });
        return [];
      }
    },
  };
}
