/**
 * Date questions ("what did I tell you on May 2nd", "5月2日我说了什么", "五月二号", "yesterday", "上周", "三天前")
 * become a range of calendar days, relative to the message's own timestamp and in the configured timezone. Pure: no
 * clock, no I/O. Days are 'YYYY-MM-DD' strings, which sort and compare as dates.
 *
 * A month and day without a year mean the latest such day that is not in the future. "last week" / 上周 is the
 * previous calendar week, Monday to Sunday; "last month" / 上个月 the previous calendar month.
 */

export interface DayRange {
  /** first day, inclusive */
  readonly from: string;
  /** last day, inclusive */
  readonly to: string;
  /** the words that named the range */
  readonly matched: string;
  /** "a few days ago", "前几天": people misremember these, so the range is a hint, not a filter */
  readonly vague?: boolean;
}

const dayMs = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar day (YYYY-MM-DD) of an instant in a timezone. Throws a RangeError for an unknown timezone. */
export function dayInTimeZone(instant: Date | number, timeZone: string): string {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, formatter);
  }
  const parts = formatter.formatToParts(instant);
  const part = (type: string) => parts.find((item) => item.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/**
 * The instant at which the clocks of `timeZone` show `minutes` past midnight of `day` (YYYY-MM-DD). Two passes settle
 * the zone's offset, DST included; a wall time that a DST jump skips lands an hour beside it.
 */
export function instantOfLocalTime(day: string, minutes: number, timeZone: string): number {
  const wall = toUtcMs(day) + minutes * 60_000;
  let instant = wall;
  for (let pass = 0; pass < 2; pass++) instant = wall - (wallClockAsUtc(instant, timeZone) - instant);
  return instant;
}

const wallFormatters = new Map<string, Intl.DateTimeFormat>();

/** What the clocks of a timezone show at an instant, read as if it were UTC. */
function wallClockAsUtc(instant: number, timeZone: string): number {
  let formatter = wallFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    wallFormatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(instant).map((part) => [part.type, Number(part.value)]));
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) + (instant % 1000);
}

function toUtcMs(day: string): number {
  const [year, month, date] = day.split('-').map(Number);
  return Date.UTC(year!, month! - 1, date!);
}

function fromUtcMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  return fromUtcMs(toUtcMs(day) + days * dayMs);
}

/** A real calendar date, or null (Feb 30 does not exist). */
function makeDay(year: number, month: number, date: number): string | null {
  if (!(month >= 1 && month <= 12 && date >= 1 && date <= 31 && year >= 1000 && year <= 9999)) return null;
  const ms = Date.UTC(year, month - 1, date);
  const made = new Date(ms);
  if (made.getUTCMonth() !== month - 1 || made.getUTCDate() !== date) return null;
  return fromUtcMs(ms);
}

/** The latest month/day not after today (Feb 29 looks back to the last leap year). */
function latestPast(month: number, date: number, today: string): string | null {
  const thisYear = Number(today.slice(0, 4));
  for (let year = thisYear; year >= thisYear - 8; year--) {
    const candidate = makeDay(year, month, date);
    if (candidate && candidate <= today) return candidate;
  }
  return null;
}

const chineseDigits: Record<string, number> = {
  〇: 0, 零: 0, 一: 1, 二: 2, 两: 2, 兩: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9,
};

/** "3", "十二", "二十一", "三十", "两" → number; null when it is not a small number. */
export function parseSmallNumber(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^[〇零一二两兩三四五六七八九十]+$/.test(text)) return null;
  const ten = text.indexOf('十');
  if (ten === -1) return text.length === 1 ? (chineseDigits[text] ?? null) : null;
  if (text.indexOf('十', ten + 1) !== -1) return null;
  const tens = ten === 0 ? 1 : text.length > 0 && ten === 1 ? (chineseDigits[text[0]!] ?? null) : null;
  const rest = text.slice(ten + 1);
  const ones = rest === '' ? 0 : rest.length === 1 ? (chineseDigits[rest] ?? null) : null;
  if (tens === null || ones === null) return null;
  return tens * 10 + ones;
}

const englishNumbers: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, twenty: 20, thirty: 30,
};

const monthNames: readonly string[] = [
  'jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec',
];
const monthPattern =
  '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';

function monthNumber(name: string): number {
  return monthNames.indexOf(name.slice(0, 3).toLowerCase()) + 1;
}

const cnNumber = '([0-9]{1,2}|[〇零一二两兩三四五六七八九十]{1,3})';
const cnCount = '([0-9]{1,3}|[一二两兩三四五六七八九十]{1,3})';

/** Monday of the calendar week holding `day`. */
function mondayOf(day: string): string {
  const weekday = new Date(toUtcMs(day)).getUTCDay(); // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}

type Rule = (text: string, today: string) => DayRange | null;

const single = (day: string | null, matched: string): DayRange | null => (day ? { from: day, to: day, matched } : null);

// Most specific first: a full date before a month-day, "the day before yesterday" before "yesterday".
const rules: readonly Rule[] = [
  (text) => {
    const match = /(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*[日号號]?/.exec(text);
    return match ? single(makeDay(Number(match[1]), Number(match[2]), Number(match[3])), match[0]) : null;
  },
  (text, today) => {
    const match = new RegExp(`${cnNumber}\\s*月\\s*${cnNumber}\\s*[日号號]`).exec(text);
    if (!match) return null;
    const month = parseSmallNumber(match[1]!);
    const date = parseSmallNumber(match[2]!);
    return month && date ? single(latestPast(month, date, today), match[0]) : null;
  },
  (text, today) => {
    const match = new RegExp(`\\b${monthPattern}\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s*(\\d{4})\\b)?`, 'i').exec(text);
    if (!match) return null;
    const month = monthNumber(match[1]!);
    const date = Number(match[2]);
    return single(match[3] ? makeDay(Number(match[3]), month, date) : latestPast(month, date, today), match[0]);
  },
  (text, today) => {
    const match = new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?${monthPattern}\\b(?:,?\\s*(\\d{4})\\b)?`, 'i').exec(text);
    if (!match) return null;
    const month = monthNumber(match[2]!);
    const date = Number(match[1]);
    return single(match[3] ? makeDay(Number(match[3]), month, date) : latestPast(month, date, today), match[0]);
  },
  (text, today) => {
    const match = /大前天|\bthree days ago\b/i.exec(text);
    return match ? single(addDays(today, -3), match[0]) : null;
  },
  (text, today) => {
    const match = /前天|\bthe day before yesterday\b/i.exec(text);
    return match ? single(addDays(today, -2), match[0]) : null;
  },
  (text, today) => {
    const match = /昨天|昨日|昨晚|\byesterday\b|\blast night\b/i.exec(text);
    return match ? single(addDays(today, -1), match[0]) : null;
  },
  (text, today) => {
    const match = new RegExp(`${cnCount}\\s*天(?:以)?前`).exec(text);
    const days = match ? parseSmallNumber(match[1]!) : null;
    return match && days ? single(addDays(today, -days), match[0]) : null;
  },
  (text, today) => {
    const match = /\b(\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|twenty|thirty)\s+days?\s+ago\b/i.exec(text);
    if (!match) return null;
    const word = match[1]!.toLowerCase();
    const days = /^\d+$/.test(word) ? Number(word) : englishNumbers[word];
    return days ? single(addDays(today, -days), match[0]) : null;
  },
  (text, today) => {
    const match = /几天前|前几天|\ba few days ago\b|\bthe other day\b/i.exec(text);
    return match ? { from: addDays(today, -6), to: addDays(today, -2), matched: match[0], vague: true } : null;
  },
  (text, today) => {
    const match = /上上(?:个)?(?:周|星期|礼拜)|\bthe week before last\b/i.exec(text);
    if (!match) return null;
    const monday = addDays(mondayOf(today), -14);
    return { from: monday, to: addDays(monday, 6), matched: match[0] };
  },
  (text, today) => {
    const match = /上(?:个)?(?:周|星期|礼拜)|\blast week\b/i.exec(text);
    if (!match) return null;
    const monday = addDays(mondayOf(today), -7);
    return { from: monday, to: addDays(monday, 6), matched: match[0] };
  },
  (text, today) => {
    const match = /(?:这|本)(?:个)?(?:周|星期|礼拜)|\bthis week\b|\bearlier this week\b/i.exec(text);
    return match ? { from: mondayOf(today), to: today, matched: match[0] } : null;
  },
  (text, today) => {
    const match = /上(?:个)?月|\blast month\b/i.exec(text);
    if (!match) return null;
    const firstOfThisMonth = `${today.slice(0, 8)}01`;
    const lastOfPrevious = addDays(firstOfThisMonth, -1);
    return { from: `${lastOfPrevious.slice(0, 8)}01`, to: lastOfPrevious, matched: match[0] };
  },
];

/**
 * The day range a message asks about, or null. `now` is the message's timestamp; `timeZone` an IANA name.
 * Ranges never reach past today.
 */
export function parseDateQuery(text: string, now: Date | number, timeZone: string): DayRange | null {
  const today = dayInTimeZone(now, timeZone);
  for (const rule of rules) {
    const range = rule(text, today);
    if (range) return range.to > today ? (range.from > today ? null : { ...range, to: today }) : range;
  }
  return null;
}
