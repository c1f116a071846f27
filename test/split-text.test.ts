/** The one reply splitter every platform uses, at Discord's and QQ's limits. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discordMessageLimit } from '../src/adapters/discord/encode.js';
import { qqMessageLimit } from '../src/adapters/qq/send.js';
import { splitText } from '../src/adapters/runtime/split-text.js';

const squash = (text: string): string => text.replace(/\s+/g, '');
const withoutSpace = (value: string): string => value.replace(/\s+/g, '');

describe('splitText at Discord\'s limit', () => {
  it('keeps a short text whole and drops a blank one', () => {
    expect(splitText('  hello there  ', discordMessageLimit)).toEqual(['hello there']);
    expect(splitText(' \n\n ', discordMessageLimit)).toEqual([]);
  });

  it('splits English on paragraphs first, then sentences, in order and within the limit', () => {
    const paragraph = (n: number) => Array.from({ length: 12 }, (_, i) => `Paragraph ${n} sentence ${i} is here.`).join(' ');
    const text = [paragraph(1), paragraph(2), paragraph(3)].join('\n\n');
    const parts = splitText(text, 500);
    expect(parts.every((part) => part.length <= 500 && part.length > 0)).toBe(true);
    expect(squash(parts.join(''))).toBe(squash(text));
    // Each paragraph is shorter than 500, so each part is exactly one paragraph.
    expect(parts).toEqual([paragraph(1), paragraph(2), paragraph(3)]);

    const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} ends here!`).join(' ');
    const sentenceParts = splitText(long, 100);
    expect(sentenceParts.length).toBeGreaterThan(1);
    for (const part of sentenceParts) {
      expect(part.length).toBeLessThanOrEqual(100);
      expect(part).toMatch(/^Sentence number \d+ .*here!$/);
    }
    expect(squash(sentenceParts.join(''))).toBe(squash(long));
  });

  it('does not cut after a decimal point, and cuts words only at spaces when there are no sentences', () => {
    expect(splitText('Pi is 3.14159 and e is 2.71828. Good.', 33)).toEqual(['Pi is 3.14159 and e is 2.71828.', 'Good.']);
    const words = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    const parts = splitText(words, 50);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(50);
      expect(part).toMatch(/^(word\d+ ?)+$/);
    }
    expect(parts.join(' ')).toBe(words);
  });

  it('splits Chinese on 。！？ without spaces', () => {
    const sentences = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? `这是第${i}句话，说得很长很长！` : `今天天气很好，我们去公园散步吧${i}。`));
    const text = sentences.join('');
    const parts = splitText(text, 60);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(60);
      expect(part).toMatch(/[。！]$/);
    }
    expect(parts.join('')).toBe(text);
  });

  it('hard-cuts a text without boundaries between characters, never inside a surrogate pair', () => {
    const text = '😀'.repeat(1500) + 'a'.repeat(1001);
    const parts = splitText(text, discordMessageLimit);
    expect(parts.join('')).toBe(text);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(2000);
      expect(part).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
    const chinese = '字'.repeat(4500);
    expect(splitText(chinese, discordMessageLimit).map((part) => part.length)).toEqual([2000, 2000, 500]);
  });

  it('mixes levels: a long paragraph is split by sentences while short ones stay together', () => {
    const shortParagraph = 'Short one.\n\nShort two.';
    const longParagraph = Array.from({ length: 10 }, (_, i) => `Long sentence ${i}.`).join(' ');
    const parts = splitText(`${shortParagraph}\n\n${longParagraph}`, 60);
    expect(parts[0]).toBe('Short one.\n\nShort two.');
    expect(parts.slice(1).every((part) => part.startsWith('Long sentence') && part.length <= 60)).toBe(true);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => splitText('abc', 0)).toThrow(/limit/);
  });
});

describe('splitText at QQ\'s limit', () => {
  it('keeps a short text whole and drops blank text', () => {
    expect(splitText('  你好，世界！  ', qqMessageLimit)).toEqual(['你好，世界！']);
    expect(splitText('', qqMessageLimit)).toEqual([]);
    expect(splitText(' \n\n ', qqMessageLimit)).toEqual([]);
  });

  it('uses 1500 characters by default', () => {
    expect(qqMessageLimit).toBe(1500);
    const text = '这是一个句子。'.repeat(600); // 4,200 characters
    const parts = splitText(text, qqMessageLimit);
    expect(parts.length).toBe(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(1500);
    expect(parts.join('')).toBe(text);
  });

  it('cuts Chinese text after 。！？… without needing spaces, in order', () => {
    const text = '今天天气很好。我们去公园吧！你觉得呢？好啊……走吧。';
    const parts = splitText(text, 12);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(12);
      expect(part).toMatch(/[。！？…]$/);
    }
    expect(parts.join('')).toBe(text);
  });

  it('prefers paragraph and line breaks over sentence ends', () => {
    const text = 'First line. Still first.\nSecond line here.\n\nThird paragraph.';
    expect(splitText(text, 45)).toEqual(['First line. Still first.\nSecond line here.', 'Third paragraph.']);
    expect(splitText(text, 30)).toEqual(['First line. Still first.', 'Second line here.', 'Third paragraph.']);
  });

  it('cuts Latin sentences only at . ! ? followed by a space, so numbers and file names stay whole', () => {
    const text = 'Pi is 3.14159 roughly. Use node.js today! Really?';
    const parts = splitText(text, 25);
    expect(parts).toEqual(['Pi is 3.14159 roughly.', 'Use node.js today!', 'Really?']);
  });

  it('falls back to words, then to graphemes, never splitting an emoji', () => {
    expect(splitText('alpha beta gamma delta', 11)).toEqual(['alpha beta', 'gamma delta']);
    const emoji = '😀'.repeat(5); // each is two UTF-16 units
    const parts = splitText(emoji, 3);
    expect(parts).toEqual(['😀', '😀', '😀', '😀', '😀']);
    const family = '👨‍👩‍👧'.repeat(3);
    for (const part of splitText(family, 8)) expect(part).toBe('👨‍👩‍👧');
  });

  it('never gives empty parts, never exceeds the limit, and keeps every character in order', () => {
    const pieces = fc.constantFrom('字', '。', '！', ' ', '\n', 'a', '.', '?', '…', 'b', '😀', '👨‍👩‍👧');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 300 }), fc.integer({ min: 2, max: 41 }), (chosen, limit) => {
        const text = chosen.join('');
        const parts = splitText(text, limit);
        for (const part of parts) {
          expect(part.length).toBeGreaterThan(0);
          expect(part.length).toBeLessThanOrEqual(limit);
          expect(part).toBe(part.trim());
        }
        expect(withoutSpace(parts.join(''))).toBe(withoutSpace(text));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a nonsensical limit', () => {
    expect(() => splitText('x', 1)).toThrow(RangeError);
    expect(() => splitText('x', 2.5)).toThrow(RangeError);
    expect(splitText('no limit at all. '.repeat(500), Number.POSITIVE_INFINITY)).toHaveLength(1);
  });
});

