import { describe, expect, it } from 'vitest';
import { stripScriptEcho, toScriptLine, unwrapQuote } from '../src/characters/script-format.js';

describe('toScriptLine', () => {
  it('writes the ChatHaruhi script form', () => {
    expect(toScriptLine('阿虚', '你好')).toBe('阿虚:「你好」');
    expect(toScriptLine('Luna', 'Hello')).toBe('Luna:「Hello」');
  });
});

describe('unwrapQuote', () => {
  it('unwraps one whole quote, nested quotes included, and nothing else', () => {
    expect(unwrapQuote('「你好」')).toBe('你好');
    expect(unwrapQuote('「写着「SOS团」吗」')).toBe('写着「SOS团」吗');
    expect(unwrapQuote('「A」和「B」')).toBeNull();
    expect(unwrapQuote('没有引号')).toBeNull();
    expect(unwrapQuote('「没有结尾')).toBeNull();
  });
});

describe('stripScriptEcho', () => {
  const haruhi = ['春日', '凉宫春日'];

  it('strips the speaker prefix and the quotes, with either colon', () => {
    expect(stripScriptEcho('春日:「今天去找外星人！」', haruhi)).toBe('今天去找外星人！');
    expect(stripScriptEcho('凉宫春日：「不许迟到」', haruhi)).toBe('不许迟到');
    expect(stripScriptEcho('Luna: I think they are real.', ['Luna'])).toBe('I think they are real.');
    expect(stripScriptEcho('luna:「Hello」', ['Luna'])).toBe('Hello');
  });

  it('keeps a reply that is not in script form as it is', () => {
    expect(stripScriptEcho('今天去找外星人！', haruhi)).toBe('今天去找外星人！');
    expect(stripScriptEcho('Note: the library closes at nine.', ['Luna'])).toBe('Note: the library closes at nine.');
    expect(stripScriptEcho('他说「SOS团」和「文艺部」不一样', haruhi)).toBe('他说「SOS团」和「文艺部」不一样');
  });

  it('handles several lines and a bare quoted line', () => {
    expect(stripScriptEcho('春日:「听好了」\n春日:「明天九点集合」', haruhi)).toBe('听好了\n明天九点集合');
    expect(stripScriptEcho('「是价值观的不同啦」', haruhi)).toBe('是价值观的不同啦');
    expect(stripScriptEcho('春日:「你看「SOS团」多好」', haruhi)).toBe('你看「SOS团」多好');
  });

  it('removes an unclosed opening quote', () => {
    expect(stripScriptEcho('春日:「有希呢', haruhi)).toBe('有希呢');
  });

  it('stops where the model starts writing the other side of the dialogue', () => {
    expect(stripScriptEcho('春日:「走吧！」\n阿虚:「又要去哪里啊」\n春日:「少废话」', haruhi)).toBe('走吧！');
    expect(stripScriptEcho('Luna:「Hello, Harry.」\nHarry:「Hi, Luna.」', ['Luna'])).toBe('Hello, Harry.');
  });

  it('never turns a non-empty reply into an empty one', () => {
    expect(stripScriptEcho('春日:「」', haruhi)).toBe('春日:「」');
    expect(stripScriptEcho('Luna:', ['Luna'])).toBe('Luna:');
    expect(stripScriptEcho('', haruhi)).toBe('');
  });

  it('keeps a leading line by someone else rather than returning nothing', () => {
    expect(stripScriptEcho('阿虚:「又要去哪里啊」', haruhi)).toBe('阿虚:「又要去哪里啊」');
  });
});
