import { describe, expect, it } from 'vitest';
import { callsByName } from '../src/adapters/discord/decode.js';
import { discordAllowedMentions, splitForDiscord } from '../src/adapters/discord/encode.js';

const squash = (text: string): string => text.replace(/\s+/g, '');

describe('splitForDiscord', () => {
  it('keeps a short text whole and drops a blank one', () => {
    expect(splitForDiscord('  hello there  ')).toEqual(['hello there']);
    expect(splitForDiscord(' \n\n ')).toEqual([]);
  });

  it('splits English on paragraphs first, then sentences, in order and within the limit', () => {
    const paragraph = (n: number) => Array.from({ length: 12 }, (_, i) => `Paragraph ${n} sentence ${i} is here.`).join(' ');
    const text = [paragraph(1), paragraph(2), paragraph(3)].join('\n\n');
    const parts = splitForDiscord(text, 500);
    expect(parts.every((part) => part.length <= 500 && part.length > 0)).toBe(true);
    expect(squash(parts.join(''))).toBe(squash(text));
    // Each paragraph is shorter than 500, so each part is exactly one paragraph.
    expect(parts).toEqual([paragraph(1), paragraph(2), paragraph(3)]);

    const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} ends here!`).join(' ');
    const sentenceParts = splitForDiscord(long, 100);
    expect(sentenceParts.length).toBeGreaterThan(1);
    for (const part of sentenceParts) {
      expect(part.length).toBeLessThanOrEqual(100);
      expect(part).toMatch(/^Sentence number \d+ .*here!$/);
    }
    expect(squash(sentenceParts.join(''))).toBe(squash(long));
  });

  it('does not cut after a decimal point, and cuts words only at spaces when there are no sentences', () => {
    expect(splitForDiscord('Pi is 3.14159 and e is 2.71828. Good.', 33)).toEqual(['Pi is 3.14159 and e is 2.71828.', 'Good.']);
    const words = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    const parts = splitForDiscord(words, 50);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(50);
      expect(part).toMatch(/^(word\d+ ?)+$/);
    }
    expect(parts.join(' ')).toBe(words);
  });

  it('splits Chinese on 。！？ without spaces', () => {
    const sentences = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? `这是第${i}句话，说得很长很长！` : `今天天气很好，我们去公园散步吧${i}。`));
    const text = sentences.join('');
    const parts = splitForDiscord(text, 60);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(60);
      expect(part).toMatch(/[。！]$/);
    }
    expect(parts.join('')).toBe(text);
  });

  it('hard-cuts a text without boundaries between characters, never inside a surrogate pair', () => {
    const text = '😀'.repeat(1500) + 'a'.repeat(1001);
    const parts = splitForDiscord(text);
    expect(parts.join('')).toBe(text);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(2000);
      expect(part).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
    const chinese = '字'.repeat(4500);
    expect(splitForDiscord(chinese).map((part) => part.length)).toEqual([2000, 2000, 500]);
  });

  it('mixes levels: a long paragraph is split by sentences while short ones stay together', () => {
    const shortParagraph = 'Short one.\n\nShort two.';
    const longParagraph = Array.from({ length: 10 }, (_, i) => `Long sentence ${i}.`).join(' ');
    const parts = splitForDiscord(`${shortParagraph}\n\n${longParagraph}`, 60);
    expect(parts[0]).toBe('Short one.\n\nShort two.');
    expect(parts.slice(1).every((part) => part.startsWith('Long sentence') && part.length <= 60)).toBe(true);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => splitForDiscord('abc', 0)).toThrow(/limit/);
  });
});

describe('discord encode policy', () => {
  it('never lets the content ping anyone but the replied user', () => {
    expect(discordAllowedMentions).toEqual({ parse: [], repliedUser: true });
  });
});

describe('callsByName', () => {
  it('matches Latin names as whole words, ignoring case, and CJK names anywhere', () => {
    expect(callsByName('hey alice, how are you', ['Alice'])).toBe(true);
    expect(callsByName('Malice aforethought', ['Alice'])).toBe(false);
    expect(callsByName('爱丽丝你好', ['Alice', '爱丽丝'])).toBe(true);
    expect(callsByName('nothing here', ['Alice', '爱丽丝', ' '])).toBe(false);
    expect(callsByName('call C++ now', ['C++'])).toBe(true);
  });
});
