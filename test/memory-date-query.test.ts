import { describe, expect, it } from 'vitest';
import { addDays, dayInTimeZone, parseDateQuery, parseSmallNumber } from '../src/memory/date-query.js';

// Monday 2024-05-20, 02:00 in Shanghai — still Sunday the 19th in UTC and New York.
const now = new Date(Date.UTC(2024, 4, 19, 18));
const shanghai = 'Asia/Shanghai';
const range = (text: string, timeZone = shanghai) => {
  const found = parseDateQuery(text, now, timeZone);
  return found ? [found.from, found.to] : null;
};

describe('parseDateQuery', () => {
  it('reads explicit dates in English and Chinese', () => {
    expect(range('what did I tell you on 2023-05-02?')).toEqual(['2023-05-02', '2023-05-02']);
    expect(range('2023年5月2日发生了什么')).toEqual(['2023-05-02', '2023-05-02']);
    expect(range('what did I tell you on May 2nd')).toEqual(['2024-05-02', '2024-05-02']);
    expect(range('May 2')).toEqual(['2024-05-02', '2024-05-02']);
    expect(range('on the 2nd of May, 2022')).toEqual(['2022-05-02', '2022-05-02']);
    expect(range('5月2日我说了什么')).toEqual(['2024-05-02', '2024-05-02']);
    expect(range('五月二号我们聊了啥')).toEqual(['2024-05-02', '2024-05-02']);
    expect(range('十二月三十一日')).toEqual(['2023-12-31', '2023-12-31']); // not yet this year: last year's
    expect(range('June 1st')).toEqual(['2023-06-01', '2023-06-01']);
    expect(range('February 30')).toBeNull();
  });

  it('reads relative days in the configured timezone', () => {
    expect(range('what did I say yesterday')).toEqual(['2024-05-19', '2024-05-19']);
    expect(range('yesterday', 'UTC')).toEqual(['2024-05-18', '2024-05-18']);
    expect(range('昨天我说了什么')).toEqual(['2024-05-19', '2024-05-19']);
    expect(range('前天')).toEqual(['2024-05-18', '2024-05-18']);
    expect(range('the day before yesterday')).toEqual(['2024-05-18', '2024-05-18']);
    expect(range('大前天')).toEqual(['2024-05-17', '2024-05-17']);
    expect(range('3 days ago')).toEqual(['2024-05-17', '2024-05-17']);
    expect(range('three days ago')).toEqual(['2024-05-17', '2024-05-17']);
    expect(range('三天前')).toEqual(['2024-05-17', '2024-05-17']);
    expect(range('十天前')).toEqual(['2024-05-10', '2024-05-10']);
  });

  it('reads weeks and months as calendar ranges', () => {
    expect(range('what did we talk about last week')).toEqual(['2024-05-13', '2024-05-19']);
    expect(range('上周')).toEqual(['2024-05-13', '2024-05-19']);
    expect(range('上个星期')).toEqual(['2024-05-13', '2024-05-19']);
    expect(range('last week', 'America/New_York')).toEqual(['2024-05-06', '2024-05-12']); // still Sunday there
    expect(range('上个月')).toEqual(['2024-04-01', '2024-04-30']);
    expect(range('a few days ago')).toEqual(['2024-05-14', '2024-05-18']);
  });

  it('finds nothing in ordinary messages', () => {
    expect(range('may I ask you something?')).toBeNull();
    expect(range('我的猫叫团子')).toBeNull();
    expect(range('I have 3 cats')).toBeNull();
  });

  it('has working calendar helpers', () => {
    expect(dayInTimeZone(now, shanghai)).toBe('2024-05-20');
    expect(dayInTimeZone(now, 'UTC')).toBe('2024-05-19');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(parseSmallNumber('二十一')).toBe(21);
    expect(parseSmallNumber('十')).toBe(10);
    expect(parseSmallNumber('两')).toBe(2);
    expect(parseSmallNumber('三十一')).toBe(31);
    expect(parseSmallNumber('十十')).toBeNull();
  });
});
