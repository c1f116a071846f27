import { describe, expect, it } from 'vitest';
import { CharacterError } from '../src/core/errors.js';
import { parseLorebook, selectLorebookEntries, type Lorebook, type LorebookEntry } from '../src/characters/lorebook.js';

let nextId = 0;
function entry(fields: Partial<LorebookEntry> & { content: string }): LorebookEntry {
  nextId += 1;
  return { keys: [], extensions: {}, enabled: true, insertion_order: 100, id: nextId, ...fields };
}

function book(entries: LorebookEntry[], fields: Partial<Lorebook> = {}): Lorebook {
  return { extensions: {}, entries, ...fields };
}

// One "token" per character keeps the budget arithmetic obvious.
const characters = (text: string) => [...text].length;
const contents = (entries: LorebookEntry[]) => entries.map((item) => item.content);

describe('selectLorebookEntries triggers', () => {
  it('triggers on a key anywhere in the scanned texts, case-insensitively by default', () => {
    const lore = book([
      entry({ keys: ['dragon'], content: 'DRAGON' }),
      entry({ keys: ['castle'], content: 'CASTLE' }),
      entry({ keys: ['Moon'], content: 'MOON', case_sensitive: true }),
    ]);
    expect(contents(selectLorebookEntries(lore, ['A DRAGON flew by', 'the moon rose'], characters, 1000))).toEqual(['DRAGON']);
    expect(contents(selectLorebookEntries(lore, ['the Moon rose'], characters, 1000))).toEqual(['MOON']);
  });

  it('matches Chinese keys inside Chinese text', () => {
    const lore = book([entry({ keys: ['竹林'], content: '后山竹林' }), entry({ keys: ['茶馆'], content: '茶馆' })]);
    expect(contents(selectLorebookEntries(lore, ['我们晚上去后山的竹林看萤火虫吧'], characters, 1000))).toEqual(['后山竹林']);
  });

  it('needs a secondary key too when selective', () => {
    const lore = book([
      entry({ keys: ['sword'], secondary_keys: ['broken', '断'], selective: true, content: 'SHARDS' }),
      entry({ keys: ['sword'], secondary_keys: ['broken'], selective: false, content: 'SWORD' }),
      entry({ keys: ['sword'], secondary_keys: [], selective: true, content: 'ANY SWORD' }),
    ]);
    expect(contents(selectLorebookEntries(lore, ['my sword'], characters, 1000))).toEqual(['SWORD', 'ANY SWORD']);
    expect(contents(selectLorebookEntries(lore, ['my sword', 'is 断 now'], characters, 1000))).toEqual([
      'SHARDS',
      'SWORD',
      'ANY SWORD',
    ]);
  });

  it('always includes constant entries and never disabled ones', () => {
    const lore = book([
      entry({ keys: [], constant: true, content: 'ALWAYS' }),
      entry({ keys: ['dragon'], enabled: false, content: 'OFF' }),
      entry({ keys: ['dragon'], constant: true, enabled: false, content: 'OFF TOO' }),
    ]);
    expect(contents(selectLorebookEntries(lore, ['dragon'], characters, 1000))).toEqual(['ALWAYS']);
    expect(contents(selectLorebookEntries(lore, [], characters, 1000))).toEqual(['ALWAYS']);
  });

  it('treats /pattern/flags keys as regular expressions, and use_regex keys too', () => {
    const lore = book([
      entry({ keys: ['/\\bcat(s)?\\b/i'], content: 'CATS' }),
      entry({ keys: ['/^Hello/'], content: 'HELLO' }),
      entry({ keys: ['春日|凉宫'], use_regex: true, content: 'HARUHI' }),
      entry({ keys: ['/[unclosed/'], content: 'LITERAL' }),
    ]);
    expect(contents(selectLorebookEntries(lore, ['Two CATS here'], characters, 1000))).toEqual(['CATS']);
    expect(contents(selectLorebookEntries(lore, ['concatenate'], characters, 1000))).toEqual([]);
    expect(contents(selectLorebookEntries(lore, ['hello there'], characters, 1000))).toEqual([]);
    expect(contents(selectLorebookEntries(lore, ['Hello there'], characters, 1000))).toEqual(['HELLO']);
    expect(contents(selectLorebookEntries(lore, ['我见到了凉宫同学'], characters, 1000))).toEqual(['HARUHI']);
    expect(contents(selectLorebookEntries(lore, ['a /[unclosed/ key'], characters, 1000))).toEqual(['LITERAL']);
  });

  it('scans only the last scan_depth texts', () => {
    const lore = book([entry({ keys: ['dragon'], content: 'DRAGON' })], { scan_depth: 2 });
    expect(selectLorebookEntries(lore, ['dragon', 'b', 'c'], characters, 1000)).toEqual([]);
    expect(contents(selectLorebookEntries(lore, ['a', 'dragon', 'c'], characters, 1000))).toEqual(['DRAGON']);
    expect(selectLorebookEntries({ ...lore, scan_depth: 0 }, ['dragon'], characters, 1000)).toEqual([]);
    expect(contents(selectLorebookEntries({ ...lore, scan_depth: undefined }, ['dragon', 'b', 'c'], characters, 1000))).toEqual([
      'DRAGON',
    ]);
  });

  it('lets triggered content trigger further entries only with recursive_scanning', () => {
    const entries = [entry({ keys: ['castle'], content: 'The castle has a dragon.' }), entry({ keys: ['dragon'], content: 'DRAGON' })];
    expect(contents(selectLorebookEntries(book(entries), ['the castle'], characters, 1000))).toEqual(['The castle has a dragon.']);
    expect(contents(selectLorebookEntries(book(entries, { recursive_scanning: true }), ['the castle'], characters, 1000))).toEqual([
      'The castle has a dragon.',
      'DRAGON',
    ]);
  });
});

describe('selectLorebookEntries budget', () => {
  const lore = book([
    entry({ keys: ['x'], content: 'aaaa', priority: 10, insertion_order: 3 }),
    entry({ keys: ['x'], content: 'bbbb', priority: 1, insertion_order: 1 }),
    entry({ keys: ['x'], content: 'cccc', priority: 5, insertion_order: 2 }),
    entry({ keys: ['x'], content: 'dddd', priority: 5, insertion_order: 4 }),
  ]);

  it('returns everything sorted by insertion_order when it fits', () => {
    expect(contents(selectLorebookEntries(lore, ['x'], characters, 16))).toEqual(['bbbb', 'cccc', 'aaaa', 'dddd']);
  });

  it('drops the lowest priority first, and on a tie the later insertion order', () => {
    expect(contents(selectLorebookEntries(lore, ['x'], characters, 12))).toEqual(['cccc', 'aaaa', 'dddd']);
    expect(contents(selectLorebookEntries(lore, ['x'], characters, 8))).toEqual(['cccc', 'aaaa']);
    expect(contents(selectLorebookEntries(lore, ['x'], characters, 7))).toEqual(['aaaa']);
    expect(selectLorebookEntries(lore, ['x'], characters, 3)).toEqual([]);
  });

  it("uses the book's token_budget when it is the smaller one", () => {
    expect(contents(selectLorebookEntries({ ...lore, token_budget: 4 }, ['x'], characters, 1000))).toEqual(['aaaa']);
  });

  it('uses the token counter it is given', () => {
    const perWord = (text: string) => text.split(/\s+/).filter(Boolean).length;
    const words = book([entry({ keys: ['x'], content: 'one two three', priority: 1 }), entry({ keys: ['x'], content: 'four', priority: 2 })]);
    expect(contents(selectLorebookEntries(words, ['x'], perWord, 3))).toEqual(['four']);
  });
});

describe('parseLorebook', () => {
  it('fills defaults and keeps extensions, without inventing optional fields', () => {
    const parsed = parseLorebook({ entries: [{ keys: ['a'], content: 'A', extensions: { tool: { x: 1 } }, position: 3 }] }, 'book.json');
    expect(parsed).toEqual({
      extensions: {},
      entries: [{ keys: ['a'], content: 'A', extensions: { tool: { x: 1 } }, enabled: true, insertion_order: 100 }],
    });
  });

  it('accepts a minimal entry and null optional fields', () => {
    expect(parseLorebook({ entries: [{ keys: ['a'], content: 'A', comment: null, position: 'after_char' }] }, 'b.json').entries).toEqual([
      { keys: ['a'], content: 'A', extensions: {}, enabled: true, insertion_order: 100, position: 'after_char' },
    ]);
  });

  it('names the file and field of a bad entry', () => {
    let caught: unknown;
    try {
      parseLorebook({ entries: [{ keys: ['a'], content: 5 }] }, 'book.json');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CharacterError);
    expect((caught as CharacterError).field).toBe('character_book.entries.0.content');
    expect(() => parseLorebook({ entries: 'nope' }, 'book.json')).toThrow(/book\.json: field "character_book\.entries"/);
  });
});
