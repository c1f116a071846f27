/**
 * Lorebooks (a card's `character_book`, SillyTavern's "world info"): entries of background text that enter the prompt
 * only when one of their keys shows up in the recent conversation. The field names are the card spec's own, so a book
 * read from a card is written back unchanged.
 */
import { z } from 'zod';
import { CharacterError } from '../core/errors.js';
import { compileKey, type KeyMatcher } from './lorebook-key.js';

export type LorebookPosition = 'before_char' | 'after_char';

export interface LorebookEntry {
  keys: string[];
  content: string;
  extensions: Record<string, unknown>;
  enabled: boolean;
  insertion_order: number;
  case_sensitive?: boolean;
  name?: string;
  /** When the budget is exceeded, lower priorities are dropped first; a missing priority counts as 0. */
  priority?: number;
  id?: number | string;
  comment?: string;
  /** When true, a key AND one of `secondary_keys` must match. */
  selective?: boolean;
  secondary_keys?: string[];
  /** Always inserted (still subject to the budget). */
  constant?: boolean;
  position?: LorebookPosition;
  /** V3: every key is a regular expression. */
  use_regex?: boolean;
}

export interface Lorebook {
  name?: string;
  description?: string;
  /** How many of the most recent messages are scanned for keys; missing means all that the caller gives. */
  scan_depth?: number;
  token_budget?: number;
  /** When true, the content of a triggered entry can trigger further entries. */
  recursive_scanning?: boolean;
  extensions: Record<string, unknown>;
  entries: LorebookEntry[];
}

const record = z.record(z.string(), z.unknown());
const optionalString = z.string().nullish().transform((value) => value ?? undefined);
const optionalNumber = z.number().nullish().transform((value) => value ?? undefined);
const optionalBoolean = z.boolean().nullish().transform((value) => value ?? undefined);

const entrySchema = z.object({
  keys: z.array(z.string()).nullish().transform((value) => value ?? []),
  content: z.string().nullish().transform((value) => value ?? ''),
  extensions: record.nullish().transform((value) => value ?? {}),
  enabled: z.boolean().nullish().transform((value) => value ?? true),
  // SillyTavern's own default when a hand-written entry leaves it out.
  insertion_order: z.number().nullish().transform((value) => value ?? 100),
  case_sensitive: optionalBoolean,
  name: optionalString,
  priority: optionalNumber,
  id: z.union([z.number(), z.string()]).nullish().transform((value) => value ?? undefined),
  comment: optionalString,
  selective: optionalBoolean,
  secondary_keys: z.array(z.string()).nullish().transform((value) => value ?? undefined),
  constant: optionalBoolean,
  // Exporters disagree here (numbers, empty strings); anything but the two spec values means the default place.
  // optional(): without it zod 4 treats a missing `position` as an error, and most hand-written entries leave it out.
  position: z.unknown().optional().transform((value): LorebookPosition | undefined =>
    value === 'before_char' || value === 'after_char' ? value : undefined,
  ),
  use_regex: optionalBoolean,
});

export const lorebookSchema = z.object({
  name: optionalString,
  description: optionalString,
  scan_depth: optionalNumber,
  token_budget: optionalNumber,
  recursive_scanning: optionalBoolean,
  extensions: record.nullish().transform((value) => value ?? {}),
  entries: z.array(entrySchema),
});

/** Validates a lorebook read from `file`; `field` is where it sits (`data.character_book`) for the error message. */
export function parseLorebook(value: unknown, file: string, field = 'character_book'): Lorebook {
  const result = lorebookSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue ? [field, ...issue.path.map(String)].join('.') : field;
    throw new CharacterError(file, path, issue?.message ?? 'not a valid lorebook');
  }
  const book = withoutUndefined(result.data) as Lorebook;
  checkKeys(book, file, field);
  return book;
}

/** Refuses a book with a regular expression that RE2 cannot run, naming the key, so a card is fixed before it is used. */
function checkKeys(book: Lorebook, file: string, field: string): void {
  book.entries.forEach((entry, index) => {
    for (const list of ['keys', 'secondary_keys'] as const) {
      (entry[list] ?? []).forEach((key, position) => {
        const compiled = compileKey(key, entry.case_sensitive === true, entry.use_regex === true);
        if (compiled !== null && 'refused' in compiled) {
          const where = `${field}.entries.${index}.${list}.${position}`;
          throw new CharacterError(file, where, `the regular expression ${JSON.stringify(key.trim())} cannot be used: ${compiled.refused}`);
        }
      });
    }
  });
}

/** Drops keys whose value is undefined, so that a book written back has exactly the fields it was read with. */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => withoutUndefined(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // `extensions` belongs to other tools: copy it as it is.
      if (item !== undefined) out[key] = key === 'extensions' ? item : withoutUndefined(item);
    }
    return out as T;
  }
  return value;
}

/** The compiled keys of each entry: compiling an RE2 program costs far more than one match, and books are reused. */
const compiledEntries = new WeakMap<LorebookEntry, { keys: KeyMatcher[]; secondary: KeyMatcher[] }>();

function matchersOf(keys: readonly string[], entry: LorebookEntry): KeyMatcher[] {
  const caseSensitive = entry.case_sensitive === true;
  const useRegex = entry.use_regex === true;
  return keys.flatMap((key) => {
    const compiled = compileKey(key, caseSensitive, useRegex);
    if (compiled === null) return [];
    // A refused key only reaches here in a book built in code (parseLorebook refuses it in every file): it never matches.
    return ['matches' in compiled ? compiled.matches : () => false];
  });
}

function compiledEntry(entry: LorebookEntry): { keys: KeyMatcher[]; secondary: KeyMatcher[] } {
  let compiled = compiledEntries.get(entry);
  if (!compiled) {
    compiled = { keys: matchersOf(entry.keys, entry), secondary: matchersOf(entry.secondary_keys ?? [], entry) };
    compiledEntries.set(entry, compiled);
  }
  return compiled;
}

function triggers(entry: LorebookEntry, texts: readonly string[]): boolean {
  const { keys, secondary } = compiledEntry(entry);
  if (!keys.some((matches) => texts.some(matches))) return false;
  return entry.selective !== true || secondary.length === 0 || secondary.some((matches) => texts.some(matches));
}

/**
 * The entries to put into the prompt: those whose keys appear in the last `scan_depth` of `recentTexts` (oldest
 * first), plus the constant ones, never the disabled ones. When their content exceeds the smaller of the book's
 * `token_budget` and `budgetTokens`, the lowest priority is dropped first (on a tie, the later insertion order).
 * The kept entries come back sorted by `insertion_order`.
 */
export function selectLorebookEntries(
  book: Lorebook,
  recentTexts: readonly string[],
  countTokens: (text: string) => number,
  budgetTokens: number,
): LorebookEntry[] {
  const depth = book.scan_depth ?? recentTexts.length;
  const scanned = depth > 0 ? recentTexts.slice(-depth) : [];
  const candidates = book.entries.map((entry, index) => ({ entry, index })).filter(({ entry }) => entry.enabled);

  const chosen = new Set<number>();
  for (const { entry, index } of candidates) {
    if (entry.constant === true || triggers(entry, scanned)) chosen.add(index);
  }
  if (book.recursive_scanning === true) {
    // Each round scans only what the previous round added, so this ends after at most one round per entry.
    let added = [...chosen];
    while (added.length > 0) {
      const newTexts = added.map((index) => book.entries[index]!.content);
      added = [];
      for (const { entry, index } of candidates) {
        if (!chosen.has(index) && triggers(entry, newTexts)) {
          chosen.add(index);
          added.push(index);
        }
      }
    }
  }

  const kept = candidates
    .filter(({ index }) => chosen.has(index))
    .map((candidate) => ({ ...candidate, tokens: countTokens(candidate.entry.content) }));
  const limit = Math.min(book.token_budget ?? Number.POSITIVE_INFINITY, budgetTokens);
  let total = kept.reduce((sum, candidate) => sum + candidate.tokens, 0);
  if (total > limit) {
    const dropOrder = [...kept].sort(
      (a, b) =>
        (a.entry.priority ?? 0) - (b.entry.priority ?? 0) ||
        b.entry.insertion_order - a.entry.insertion_order ||
        b.index - a.index,
    );
    const dropped = new Set<number>();
    for (const candidate of dropOrder) {
      if (total <= limit) break;
      dropped.add(candidate.index);
      total -= candidate.tokens;
    }
    return sortByInsertion(kept.filter(({ index }) => !dropped.has(index)));
  }
  return sortByInsertion(kept);
}

function sortByInsertion(kept: Array<{ entry: LorebookEntry; index: number }>): LorebookEntry[] {
  return kept
    .sort((a, b) => a.entry.insertion_order - b.entry.insertion_order || a.index - b.index)
    .map(({ entry }) => entry);
}
