import { describe, expect, it } from 'vitest';
import { daysBetween, retention, strengthenedStrength } from '../src/memory/forgetting.js';
import { estimateImportance } from '../src/memory/importance.js';
import { documentTerms, queryExpression, segmentText, stemWord } from '../src/search/terms.js';
import { memorySettingsSchema } from '../src/memory/settings.js';

describe('retention R = exp(-t / (c·S))', () => {
  it('matches hand-computed values', () => {
    expect(retention(0, 1, 1)).toBe(1);
    expect(retention(1, 1, 1)).toBeCloseTo(Math.exp(-1), 12);
    expect(retention(2, 1, 1)).toBeCloseTo(0.1353352832, 9);
    expect(retention(3, 2, 1)).toBeCloseTo(Math.exp(-1.5), 12);
    expect(retention(10, 1, 5)).toBeCloseTo(Math.exp(-2), 12);
    expect(retention(10, 2, 5)).toBeCloseTo(Math.exp(-1), 12);
    expect(retention(-4, 1, 1)).toBe(1); // a replayed past counts as just now
  });

  it('lets a stronger memory decay slower (MemoryBank code’s exp(-t / 5*S) would fail this)', () => {
    const t = 5;
    const weak = retention(t, 1, 5);
    const strong = retention(t, 3, 5);
    expect(strong).toBeGreaterThan(weak);
    const memoryBankCode = (days: number, strength: number) => Math.exp((-days / 5) * strength);
    expect(memoryBankCode(t, 3)).toBeLessThan(memoryBankCode(t, 1)); // the bug: strength speeds forgetting
    expect(strong).toBeCloseTo(Math.exp(-1 / 3), 12);
  });

  it('lets a slower kind constant decay slower, and refuses nonsense', () => {
    expect(retention(7, 1, 60)).toBeGreaterThan(retention(7, 1, 3));
    expect(() => retention(1, 0, 1)).toThrow(RangeError);
    expect(() => retention(1, 1, -2)).toThrow(RangeError);
    expect(strengthenedStrength(1)).toBe(2);
    expect(daysBetween(0, 36 * 3_600_000)).toBeCloseTo(1.5, 12);
  });

  it('has default decay constants where turns fade fastest and facts slowest among recallable kinds', () => {
    const { decay } = memorySettingsSchema.parse({});
    expect(decay.turn).toBeLessThan(decay.event);
    expect(decay.event).toBeLessThan(decay.daily_summary);
    expect(decay.daily_summary).toBeLessThan(decay.fact);
  });
});

describe('segmentation for the scoped text index', () => {
  it('splits Chinese into unigrams and bigrams and English into stemmed words without stopwords', () => {
    expect(segmentText('我的猫叫团子')).toEqual(['我', '我的', '的猫', '猫', '猫叫', '叫', '叫团', '团', '团子', '子']);
    expect(segmentText("My cat's name is Mochi, she was named in 2021!")).toEqual(['cat', 'nam', 'mochi', 'nam', '2021']);
    expect(stemWord('stories')).toBe('story');
    expect(stemWord('called')).toBe('call');
    expect(stemWord('running')).toBe('run');
    expect(segmentText('Ｔｅｓｔ１２３')).toEqual(['test123']);
  });

  it('prefixes every term with its scope and quotes each query term', () => {
    expect(documentTerms(42, '团子 cats')).toBe('s42x团 s42x团子 s42x子 s42xcat');
    expect(queryExpression(7, 'the cat and the cats')).toBe('"s7xcat"');
    expect(queryExpression(7, 'the and of')).toBeNull();
    // scope 4's "2cat" and scope 42's "cat" stay different terms
    expect(documentTerms(4, '2cat')).not.toBe(documentTerms(42, 'cat'));
  });
});

describe('importance heuristic', () => {
  it('scores personal statements with names, numbers and dates above small talk', () => {
    const smallTalk = estimateImportance('haha ok');
    const plain = estimateImportance('the weather is nice');
    const personal = estimateImportance('My cat is called Mochi and her birthday is May 3');
    const chinese = estimateImportance('我的猫叫团子，5月3日是它的生日');
    expect(smallTalk).toBe(0.1);
    expect(plain).toBe(0.3);
    expect(personal).toBeGreaterThan(0.7);
    expect(chinese).toBeGreaterThan(0.7);
    expect(estimateImportance('哈哈哈')).toBe(0.1);
    expect(personal).toBeLessThanOrEqual(1);
  });
});
