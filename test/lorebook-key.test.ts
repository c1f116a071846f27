import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCardObject } from '../src/characters/card/parse-card.js';
import { loadCharacters } from '../src/characters/load-characters.js';
import { parseLorebook, selectLorebookEntries, type LorebookEntry } from '../src/characters/lorebook.js';
import { compileKey, maxKeyProgramSize } from '../src/characters/lorebook-key.js';
import { characterErrorOf } from './helpers/character.js';

/** Whether `key` matches `text`; fails the test when the key is refused. */
function matches(key: string, text: string, { caseSensitive = false, useRegex = false } = {}): boolean {
  const compiled = compileKey(key, caseSensitive, useRegex);
  if (compiled === null) return false;
  if ('refused' in compiled) throw new Error(`refused: ${compiled.refused}`);
  return compiled.matches(text);
}

function refusal(key: string, useRegex = false): string {
  const compiled = compileKey(key, false, useRegex);
  if (compiled === null || !('refused' in compiled)) throw new Error(`${key} was not refused`);
  return compiled.refused;
}

/** Milliseconds one match of `key` against `text` takes, after a short match has warmed up the engine's code. */
function timeMatch(key: string, text: string): { matched: boolean; ms: number } {
  matches(key, 'aaa!');
  const start = performance.now();
  const matched = matches(key, text);
  return { matched, ms: performance.now() - start };
}

describe('lorebook keys run in linear time', () => {
  // Native RegExp needs about 40 s for /(a+)+$/ on 28 a's and a "!"; each extra "a" doubles that.
  const attack = 'a'.repeat(50_000) + '!';

  it.each(['/(a+)+$/', '/(a|aa)+b/', '/([a-z]+)+$/i', '/(\\w+\\s?)+$/'])('%s on 50,000 characters finishes within 50 ms', (key) => {
    const { matched, ms } = timeMatch(key, attack);
    expect(matched).toBe(false);
    expect(ms).toBeLessThan(50);
  });

  it('still matches where the pattern does', () => {
    expect(matches('/(a+)+$/', 'a'.repeat(50_000))).toBe(true);
    expect(matches('/(a|aa)+b/', `${'a'.repeat(50_000)}b`)).toBe(true);
    expect(matches('/(a|aa)+b/', 'xxab')).toBe(true);
    expect(matches('/^(a+)+$/', 'aaa!')).toBe(false);
  });

  it('a catastrophic key in a book does not stall selecting entries', () => {
    const book = parseLorebook({ entries: [{ keys: ['/(a+)+$/'], content: 'A' }, { keys: ['dragon'], content: 'D' }] }, 'book.json');
    const start = performance.now();
    const chosen = selectLorebookEntries(book, [attack, 'a dragon'], () => 1, 100);
    expect(chosen.map((entry) => entry.content)).toEqual(['D']);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('lorebook keys keep their JavaScript meaning', () => {
  it('plain keys are found anywhere, case-insensitively unless the entry says otherwise', () => {
    expect(matches('Dragon', 'a DRAGON flew')).toBe(true);
    expect(matches('Dragon', 'a DRAGON flew', { caseSensitive: true })).toBe(false);
    expect(matches('竹林', '去后山的竹林看萤火虫')).toBe(true);
    expect(compileKey('   ', false, false)).toBeNull();
  });

  it('flags: i, m and s as in JavaScript; g, y and u change nothing', () => {
    expect(matches('/hello/', 'Hello')).toBe(false);
    expect(matches('/hello/i', 'Hello')).toBe(true);
    expect(matches('/hello/giy', 'Hello')).toBe(true);
    expect(matches('/^two/', 'one\ntwo')).toBe(false);
    expect(matches('/^two/m', 'one\ntwo')).toBe(true);
    expect(matches('/a.b/', 'a\nb')).toBe(false);
    expect(matches('/a.b/s', 'a\nb')).toBe(true);
  });

  it('use_regex keys are expressions, case-insensitive unless case_sensitive', () => {
    expect(matches('春日|凉宫', '我见到了凉宫同学', { useRegex: true })).toBe(true);
    expect(matches('HARUHI|kyon', 'Kyon', { useRegex: true })).toBe(true);
    expect(matches('HARUHI|kyon', 'Kyon', { useRegex: true, caseSensitive: true })).toBe(false);
  });

  it('word boundaries, classes, named groups, lookbehind and escapes', () => {
    expect(matches('/\\bcat(s)?\\b/i', 'Two CATS here')).toBe(true);
    expect(matches('/\\bcat(s)?\\b/i', 'concatenate')).toBe(false);
    expect(matches('/(?<name>kyon)\\s+said/', 'kyon  said')).toBe(true);
    expect(matches('/(?<!not )happy/', 'I am happy')).toBe(true);
    expect(matches('/(?<!not )happy/', 'I am not happy')).toBe(false);
    expect(matches('/[^]x/', '\nx')).toBe(true);
    expect(matches('/a\\/b/', 'a/b')).toBe(true);
    expect(matches('/\\u0041\\x42/', 'AB')).toBe(true);
    expect(matches('/\\cJ/', '\n')).toBe(true);
  });

  it('\\s is JavaScript\'s Unicode whitespace (the ideographic space too), inside and outside classes', () => {
    expect(matches('/凉宫\\s春日/', '凉宫\u3000春日')).toBe(true);
    expect(matches('/凉宫[\\s,]春日/', '凉宫\u3000春日')).toBe(true);
    expect(matches('/凉宫\\S春日/', '凉宫\u3000春日')).toBe(false);
    expect(matches('/a\\sb/', 'a\u00a0b')).toBe(true);
  });

  it('an escaped letter without a meaning in JavaScript is the letter, not an RE2 operator', () => {
    expect(matches('/\\A/', 'xA')).toBe(true);
    expect(matches('/x\\z/', 'xzy')).toBe(true);
    expect(matches('/\\Q.\\E/', 'Q.E')).toBe(true);
    expect(matches('/\\（笑\\）/', '（笑）')).toBe(true);
  });

  it('a key that is not a valid JavaScript expression is plain text', () => {
    expect(matches('/[unclosed/', 'a /[unclosed/ key')).toBe(true);
    expect(matches('/a/q', 'x /a/q y')).toBe(true);
  });
});

describe('keys RE2 cannot run are refused', () => {
  it('lookahead, backreferences, the v flag and programs too large to match quickly', () => {
    expect(refusal('/(?=a)b/')).toMatch(/lookahead "\(\?="/);
    expect(refusal('/x(?!y)/')).toMatch(/lookahead "\(\?!"/);
    expect(refusal('/(a)\\1/')).toMatch(/backreferences/);
    expect(refusal('/(?<q>a)\\k<q>/')).toMatch(/backreferences/);
    expect(refusal('(a)\\1', true)).toMatch(/backreferences/);
    expect(refusal('/[a-z]/v')).toMatch(/the v flag/);
    expect(refusal('/\\p{Script=Han}/u')).toMatch(/RE2 cannot run it/);
    expect(refusal('/x{0,1000}/')).toMatch(new RegExp(`too large for RE2 to match quickly \\(2002 instructions; at most ${maxKeyProgramSize}\\)`));
    // Refused before compiling: 100 copies of (?:a{1000}) took 0.4 s to compile.
    expect(refusal(`/${'(?:a{1000})'.repeat(100)}/`)).toMatch(/counted repetitions make more than 1000 copies/);
    expect(refusal('/[ab]{600}[ab]{600}/')).toMatch(/counted repetitions/);
    expect(refusal(`/${'a'.repeat(10_001)}/`)).toMatch(/10001 characters; at most 10000/);
    expect(matches('/(?:[ab]{40}c){20}/', `${'ab'.repeat(20)}c`.repeat(20))).toBe(true);
    // Inside a class these are characters, not operators.
    expect(matches('/[(?=]/', '=')).toBe(true);
  });

  it('parseLorebook names the file, the entry and the key', () => {
    const error = characterErrorOf(() =>
      parseLorebook({ entries: [{ keys: ['ok'], content: 'A' }, { keys: ['fine', '/(?=x)y/'], content: 'B' }] }, 'book.json'),
    );
    expect(error.file).toBe('book.json');
    expect(error.field).toBe('character_book.entries.1.keys.1');
    expect(error.message).toContain('"/(?=x)y/"');
    const secondary = characterErrorOf(() =>
      parseLorebook({ entries: [{ keys: ['a'], secondary_keys: ['(b)\\1'], use_regex: true, content: 'A' }] }, 'b.json'),
    );
    expect(secondary.field).toBe('character_book.entries.0.secondary_keys.0');
  });

  it('a card with such a key is refused when it is read', () => {
    const card = { spec: 'chara_card_v2', data: { name: 'X', character_book: { entries: [{ keys: ['/(a)\\1/'], content: 'A' }] } } };
    expect(characterErrorOf(() => parseCardObject(card, 'x.json')).field).toBe('data.character_book.entries.0.keys.0');
  });

  it('a character folder whose lorebook has one is reported, and the other characters still load', () => {
    const directory = mkdtempSync(join(tmpdir(), 'omoide-key-'));
    try {
      for (const id of ['good', 'bad']) {
        mkdirSync(join(directory, id));
        writeFileSync(join(directory, id, 'character.yaml'), `name: ${id}\nlanguage: en-US\ndescription: ${id}.\n`);
      }
      writeFileSync(join(directory, 'bad', 'lorebook.json'), JSON.stringify([{ keys: ['/x(?!y)/'], content: 'X' }]));
      const { characters, errors } = loadCharacters(directory);
      expect([...characters.keys()]).toEqual(['good']);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.file).toMatch(/bad[/\\]lorebook\.json$/);
      expect(errors[0]!.field).toBe('lorebook.0.keys.0');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('a book built in code with such a key never triggers on it, instead of failing a reply', () => {
    const entry: LorebookEntry = { keys: ['/(?=a)a/'], content: 'A', extensions: {}, enabled: true, insertion_order: 1 };
    expect(selectLorebookEntries({ extensions: {}, entries: [entry] }, ['a'], () => 1, 100)).toEqual([]);
  });
});
