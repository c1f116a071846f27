import { describe, expect, it } from 'vitest';
import { questionExpression, questionTerms, segmentText } from '../src/search/terms.js';

describe('questionTerms', () => {
  it('leaves out the scaffolding of an English question about the past', () => {
    expect(questionTerms('Do you remember the kite I once mentioned to you?')).toEqual(['kit']);
    expect(questionTerms('I shared with you an emotional issue. What was it about?')).toEqual(['emotional', 'issu']);
  });

  it('leaves out Chinese question phrases and pronouns, and single characters that a bigram holds', () => {
    expect(questionTerms('你还记得我喜欢哪些古典音乐吗？')).toEqual(['喜欢', '古典', '典音', '音乐']);
    expect(questionTerms('我曾经和你说过我的猫叫什么？')).toEqual(['的猫', '猫叫']);
    // a lone character is all there is to search for
    expect(questionTerms('猫呢？')).toEqual(['猫']);
  });

  it('keeps every term when the question is nothing but scaffolding', () => {
    expect(questionTerms('你还记得吗？')).toEqual(segmentText('你还记得吗？'));
    expect(questionTerms('你还记得吗？')).toContain('记得');
    expect(questionTerms('do you remember?')).toEqual(['remember']);
  });

  it('builds a scoped MATCH expression from them', () => {
    expect(questionExpression(3, 'Do you remember my cat Mochi?')).toBe('"s3xcat" OR "s3xmochi"');
    expect(questionExpression(3, '?!')).toBeNull();
  });
});
