/**
 * The 'lorebook' prompt section: entries of the character's own lorebook and of its world's lorebook whose keys were
 * said in the last few messages (the current one included), chosen by selectLorebookEntries under the section's budget.
 */
import type { CharacterContextProvider, CharacterTurn } from '../engine.js';
import { countTokens } from '../../core/tokens.js';
import type { CharacterCatalog } from '../../characters/catalog.js';
import type { LorebookEntry } from '../../characters/lorebook.js';
import { selectLorebookEntries } from '../../characters/lorebook.js';
import { resolveMacros } from '../../characters/macros.js';

/** How many of the latest messages are scanned for keys when a book does not say (its scan_depth wins). */
export const defaultLorebookScanDepth = 4;

// The prompt pays for the section heading and a separator per item out of the same budget.
const headingAllowanceTokens = 16;
const separatorTokens = 1;

export interface LorebookProviderOptions {
  /** The prompt's lorebook budget (config prompt.budgets.lorebook). */
  readonly budgetTokens: number;
  /** Messages scanned for keys, the current one included, when a book has no scan_depth; default 4. */
  readonly scanDepth?: number;
}

/** Texts of the last `depth` messages, oldest first, ending with the message being answered. */
export function recentTexts(turn: CharacterTurn, depth: number): string[] {
  if (depth <= 0) return [];
  const earlier = depth > 1 ? turn.history.slice(-(depth - 1)) : [];
  return [...earlier.map((line) => line.content), turn.message.text];
}

export function createLorebookProvider(catalog: CharacterCatalog, options: LorebookProviderOptions): CharacterContextProvider {
  const scanDepth = options.scanDepth ?? defaultLorebookScanDepth;
  const available = Math.max(0, options.budgetTokens - headingAllowanceTokens);
  return {
    section: 'lorebook',
    collect(turn) {
      const character = turn.character;
      const world = catalog.worldOf(character);
      const books = [character.lorebook ?? null, world?.lorebook ?? null].filter((book) => book !== null);
      if (books.length === 0) return [];
      const names = { char: character.name, user: turn.message.author.displayName };
      const fill = (text: string) => resolveMacros(text, names);
      const cost = (text: string) => countTokens(fill(text)) + separatorTokens;
      // The character's own book is served first; its world's book gets what is left of the budget.
      let left = available;
      const chosen: LorebookEntry[] = [];
      for (const book of books) {
        // A book's own scan_depth wins over the provider's default (the engine's history is the limit).
        const entries = selectLorebookEntries(book, recentTexts(turn, book.scan_depth ?? scanDepth), cost, left);
        left -= entries.reduce((sum, entry) => sum + cost(entry.content), 0);
        chosen.push(...entries);
      }
      // Stable sort: on equal insertion_order the character's entries stay before the world's.
      return chosen
        .map((entry, index) => ({ entry, index }))
        .sort((a, b) => a.entry.insertion_order - b.entry.insertion_order || a.index - b.index)
        .map(({ entry }) => fill(entry.content).trim())
        .filter((content) => content !== '');
    },
  };
}
