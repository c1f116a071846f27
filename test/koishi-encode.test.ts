import { describe, expect, it } from 'vitest';
import { decodeUserOption, koishiDeclaration, positionalOption } from '../src/adapters/koishi/commands.js';
import { qqMessageLimit, splitForQQ } from '../src/adapters/koishi/encode.js';
import { ConfigError, InputError } from '../src/core/errors.js';

const withoutSpace = (value: string): string => value.replace(/\s+/g, '');

describe('splitForQQ', () => {
  it('keeps a short text whole and drops blank text', () => {
    expect(splitForQQ('  你好，世界！  ')).toEqual(['你好，世界！']);
    expect(splitForQQ('')).toEqual([]);
    expect(splitForQQ(' \n\n ')).toEqual([]);
  });

  it('uses 1500 characters by default', () => {
    expect(qqMessageLimit).toBe(1500);
    const text = '这是一个句子。'.repeat(600); // 4,200 characters
    const parts = splitForQQ(text);
    expect(parts.length).toBe(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(1500);
    expect(parts.join('')).toBe(text);
  });

  it('cuts Chinese text after 。！？… without needing spaces, in order', () => {
    const text = '今天天气很好。我们去公园吧！你觉得呢？好啊……走吧。';
    const parts = splitForQQ(text, 12);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(12);
      expect(part).toMatch(/[。！？…]$/);
    }
    expect(parts.join('')).toBe(text);
  });

  it('prefers paragraph and line breaks over sentence ends', () => {
    const text = 'First line. Still first.\nSecond line here.\n\nThird paragraph.';
    expect(splitForQQ(text, 45)).toEqual(['First line. Still first.\nSecond line here.', 'Third paragraph.']);
    expect(splitForQQ(text, 30)).toEqual(['First line. Still first.', 'Second line here.', 'Third paragraph.']);
  });

  it('cuts Latin sentences only at . ! ? followed by a space, so numbers and file names stay whole', () => {
    const text = 'Pi is 3.14159 roughly. Use node.js today! Really?';
    const parts = splitForQQ(text, 25);
    expect(parts).toEqual(['Pi is 3.14159 roughly.', 'Use node.js today!', 'Really?']);
  });

  it('falls back to words, then to graphemes, never splitting an emoji', () => {
    expect(splitForQQ('alpha beta gamma delta', 11)).toEqual(['alpha beta', 'gamma delta']);
    const emoji = '😀'.repeat(5); // each is two UTF-16 units
    const parts = splitForQQ(emoji, 3);
    expect(parts).toEqual(['😀', '😀', '😀', '😀', '😀']);
    const family = '👨‍👩‍👧'.repeat(3);
    for (const part of splitForQQ(family, 8)) expect(part).toBe('👨‍👩‍👧');
  });

  it('never gives empty parts, never exceeds the limit, and keeps every character in order', () => {
    const alphabet = ['字', '。', '！', ' ', '\n', 'a', '.', '?', '…', 'b'];
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 200; round++) {
      const length = Math.floor(random() * 300);
      const text = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]!).join('');
      const limit = 2 + Math.floor(random() * 40);
      const parts = splitForQQ(text, limit);
      for (const part of parts) {
        expect(part.length).toBeGreaterThan(0);
        expect(part.length).toBeLessThanOrEqual(limit);
        expect(part).toBe(part.trim());
      }
      expect(withoutSpace(parts.join(''))).toBe(withoutSpace(text));
    }
  });

  it('refuses a nonsensical limit', () => {
    expect(() => splitForQQ('x', 1)).toThrow(RangeError);
    expect(() => splitForQQ('x', 2.5)).toThrow(RangeError);
  });
});

describe('QQ command mapping', () => {
  const set = {
    name: 'set',
    description: 'choose',
    options: [{ name: 'character', description: 'id', type: 'string' as const, required: true }],
    adminOnly: true,
  };

  it('makes one required string option positional and the rest --flags', () => {
    expect(positionalOption(set)?.name).toBe('character');
    expect(koishiDeclaration('persona', set)).toBe('persona.set <character:text>');
    const twoStrings = { ...set, options: [...set.options, { name: 'note', description: 'n', type: 'string' as const, required: true }] };
    expect(positionalOption(twoStrings)).toBeNull();
    expect(koishiDeclaration('persona', twoStrings)).toBe('persona.set');
  });

  it('refuses names Koishi cannot parse as one word', () => {
    expect(() => koishiDeclaration('persona', { ...set, name: 'set it' })).toThrow(ConfigError);
  });

  it('reads a user as an @, @number, onebot:number or bare QQ number', () => {
    const parse = (source: string) =>
      source.startsWith('<at') ? [{ type: 'at', attrs: { id: /id="(\d+)"/.exec(source)?.[1] } }] : [{ type: 'text', attrs: { content: source } }];
    expect(decodeUserOption(parse, '<at id="40004"/>', 'user')).toBe('40004');
    expect(decodeUserOption(parse, '@40004', 'user')).toBe('40004');
    expect(decodeUserOption(parse, 'onebot:40004', 'user')).toBe('40004');
    expect(decodeUserOption(parse, ' 40004 ', 'user')).toBe('40004');
    expect(() => decodeUserOption(parse, 'kyon', 'user')).toThrow(InputError);
  });
});
