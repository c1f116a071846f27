/**
 * Fuzz: lorebook keys. A regular-expression key runs on RE2 with JavaScript's meaning (it matches where RegExp
 * matches), and any key at all either compiles or is refused with a reason, and then matches long text quickly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileKey } from '../src/characters/lorebook-key.js';
import { fuzz, nastyString, prose } from './helpers/fuzz.js';

/** Small patterns in the syntax both engines share, and short texts, so that native RegExp is quick too. */
const pattern: fc.Arbitrary<string> = fc.letrec((tie) => ({
  atom: fc.oneof(
    fc.constantFrom('a', 'b', 'A', ' ', '1', '.', '\\d', '\\w', '\\W', '\\s', '\\S', '\\b', '\\B', '[ab]', '[^a]', '[a-c\\s]', '^', '$', '\\.', '凉'),
    tie('group'),
  ),
  group: fc.oneof(
    { maxDepth: 2, depthSize: 'small' },
    tie('sequence').map((inner) => `(?:${inner})`),
    tie('sequence').map((inner) => `(${inner})`),
    fc.tuple(tie('sequence'), tie('sequence')).map(([left, right]) => `(?:${left}|${right})`),
    fc.constantFrom('(?<=a)', '(?<!b)', '(?<=\\s)'),
  ),
  quantified: fc.tuple(tie('atom'), fc.constantFrom('', '', '*', '+', '?', '{1,2}', '*?', '+?')).map(([atom, quantifier]) =>
    // A quantifier after an anchor or a lookbehind is a syntax error in JavaScript.
    /^(\^|\$|\\b|\\B|\(\?<[=!].*\))$/.test(atom as string) ? (atom as string) : `${atom as string}${quantifier}`,
  ),
  sequence: fc.array(tie('quantified'), { minLength: 1, maxLength: 4 }).map((parts) => (parts as string[]).join('')),
})).sequence as fc.Arbitrary<string>;

const subject = fc.string({ unit: fc.constantFrom('a', 'b', 'A', ' ', '1', '\n', '\t', '\u3000', '\u00a0', '凉', '.', '_'), maxLength: 12 });

describe('fuzz: lorebook keys', () => {
  it('an expression RE2 accepts matches exactly where JavaScript\'s RegExp matches', () => {
    fuzz(
      'lorebook key: RE2 agrees with RegExp',
      fc.record({ source: pattern, flags: fc.subarray(['i', 'm', 's']), texts: fc.array(subject, { minLength: 1, maxLength: 4 }) }),
      ({ source, flags, texts }) => {
        const flagText = flags.join('');
        const compiled = compileKey(`/${source}/${flagText}`, false, false);
        if (compiled === null || 'refused' in compiled) return 'refused';
        const native = new RegExp(source, flagText);
        for (const text of texts) expect(compiled.matches(text), `/${source}/${flagText} on ${JSON.stringify(text)}`).toBe(native.test(text));
        return 'accepted';
      },
      { numRuns: 300, examples: [[{ source: 'a\\s$', flags: ['m'], texts: ['a\u3000', 'a \nb'] }]] },
    );
  });

  it('any key either compiles or is refused with a reason, and a compiled one matches any text quickly', () => {
    fuzz(
      'lorebook key: compile any text',
      fc.record({
        key: fc.oneof(nastyString, fc.string({ unit: fc.constantFrom('(', ')', '?', '<', '=', '!', '\\', '/', '[', ']', '{', '}', '*', '+', 'a', '1', '9', '0', ',', '^', '$', '|', 'k', 'p'), maxLength: 16 }).map((body) => `/${body}/`)),
        caseSensitive: fc.boolean(),
        useRegex: fc.boolean(),
        text: fc.oneof(prose, fc.constant('a'.repeat(50_000) + '!')),
      }),
      ({ key, caseSensitive, useRegex, text }) => {
        const compiled = compileKey(key, caseSensitive, useRegex);
        if (compiled === null) return 'refused';
        if ('refused' in compiled) {
          expect(compiled.refused).not.toBe('');
          return 'refused';
        }
        expect(typeof compiled.matches(text)).toBe('boolean');
        return 'accepted';
      },
      { numRuns: 300 },
    );
  });
});
