import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { describe, expect, it } from 'vitest';
import { countTokens, truncateToTokens } from '../src/core/tokens.js';

const o200kEncoder = new Tiktoken(o200k);
const real = (text: string) => o200kEncoder.encode(text).length;

const chinese = [
  '我的猫叫团子，它今天把书店里的一整排旧书都推倒了，真是拿它没办法。',
  '明天下午三点你还会来吗？我给你留了那本《边城》，还有一杯桂花乌龙。',
  '“下雨天最适合看书了，”她把伞靠在门边，“你说对不对？”',
  '五月二日那天，我们在江边走了很久，聊到了小时候的事情。',
  '好',
  '（小满笑着摇摇头）你呀，总是这样，嘴上说不要，心里比谁都在意。',
];
const english = [
  'My cat is called Mochi and today she knocked a whole shelf of old books over in the shop.',
  "Will you come back tomorrow at three? I'll keep that copy of Moby-Dick for you, and a pot of tea.",
  '"Rainy days are for reading," she said, leaning the umbrella by the door. "Don\'t you think?"',
  'On May 2nd we walked along the river for hours, talking about when we were kids.',
  'ok',
  'Internationalization, 1234567890, e-mail: someone@example.com — and an emoji 🌊.',
];

describe('countTokens', () => {
  it.each([...chinese, ...english])('is an upper bound of o200k_base, and not a wild one: %s', (text) => {
    const estimate = countTokens(text);
    expect(estimate).toBeGreaterThanOrEqual(real(text));
    expect(estimate).toBeLessThanOrEqual(real(text) * 2.5 + 2);
  });

  it('is zero for empty text and grows with length', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('团子'.repeat(10))).toBeGreaterThan(countTokens('团子'));
  });

  const shared = resolve(__dirname, '..', '..', 'shared', 'data', 'memorybank');
  it.skipIf(!existsSync(shared))('holds on every MemoryBank turn, both languages (../shared/data)', () => {
    let under = 0;
    let checked = 0;
    for (const language of ['cn', 'en']) {
      const bank = JSON.parse(readFileSync(resolve(shared, language, `memory_bank_${language}.json`), 'utf8')) as Record<
        string,
        { history: Record<string, { query: string; response: string }[]> }
      >;
      for (const user of Object.values(bank))
        for (const day of Object.values(user.history))
          for (const turn of day)
            for (const text of [turn.query, turn.response]) {
              checked++;
              if (countTokens(text) < real(text)) under++;
            }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(under).toBe(0);
  });
});

describe('truncateToTokens', () => {
  it('cuts to the budget with an ellipsis and leaves short text alone', () => {
    const long = chinese.join('') + english.join(' ');
    const cut = truncateToTokens(long, 40);
    expect(countTokens(cut)).toBeLessThanOrEqual(40);
    expect(cut.endsWith('…')).toBe(true);
    expect(truncateToTokens('hello', 40)).toBe('hello');
    expect(truncateToTokens('hello', 0)).toBe('');
  });
});
