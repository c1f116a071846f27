/**
 * A lorebook key as a matcher. A key is plain text (found anywhere, so Chinese keys match inside Chinese text that
 * has no word breaks) or a regular expression: `/pattern/flags`, or any key of an entry with `use_regex`.
 *
 * Keys come with cards from strangers and run on every message, so expressions run on RE2 (re2js): its time grows
 * linearly with the text, where JavaScript's backtracking engine can take minutes on `/(a+)+$/` and one long message.
 * Keys are written in JavaScript's syntax (SillyTavern's); `toRe2Syntax` keeps their meaning where the two differ.
 * What RE2 cannot run — lookahead, backreferences — is refused, with the reason, when the book is loaded.
 */
import { RE2JS, RE2JSException } from 're2js';

export type KeyMatcher = (text: string) => boolean;

/** A key that can be matched, or why it cannot. */
export type CompiledKey = { readonly matches: KeyMatcher } | { readonly refused: string };

const regexKeyPattern = /^\/(.+)\/([a-z]*)$/s;

/**
 * RE2 gives up its fast DFA on large programs and then pays for every instruction at every character (a 140-byte
 * `(?:[ab]{1000}){10}` took two seconds on a 20,000-character message). Real keys — words, alternations of names,
 * `.{0,30}` — stay far below this.
 */
export const maxKeyProgramSize = 1000;

/**
 * Compiling costs about as much as the program is large, and only compiling tells how large it is: `(?:a{1000})`
 * written 100 times (1,100 bytes) took 0.4 s to compile before it could be refused. Counted repetitions are what make
 * a program much larger than its pattern, so the copies they make (count × the length of what they repeat) are added
 * up first, and very long patterns are refused outright.
 */
const maxKeyPatternLength = 10 * maxKeyProgramSize;
const countedRepetition = /\{(\d+)(?:,(\d*))?\}/y;

function tooLarge(what: string): { refused: string } {
  return { refused: `it is too large for RE2 to match quickly (${what}); split it into several keys` };
}

/** The matcher for one key; null for a blank key, which matches nothing. */
export function compileKey(key: string, caseSensitive: boolean, useRegex: boolean): CompiledKey | null {
  const trimmed = key.trim();
  if (trimmed === '') return null;
  const slashed = regexKeyPattern.exec(trimmed);
  if (slashed || useRegex) {
    const source = slashed ? slashed[1]! : trimmed;
    // g and y only make a JavaScript RegExp stateful; d asks for indices. None changes what matches.
    const flags = slashed ? slashed[2]!.replace(/[gyd]/g, '') : caseSensitive ? '' : 'i';
    // A key that is not a valid JavaScript expression (`/[unclosed/`) was never meant as one: it is plain text.
    if (isJavaScriptRegExp(source, flags)) return compileRegExp(source, flags);
  }
  if (caseSensitive) return { matches: (text) => text.includes(trimmed) };
  const lower = trimmed.toLowerCase();
  return { matches: (text) => text.toLowerCase().includes(lower) };
}

function isJavaScriptRegExp(source: string, flags: string): boolean {
  try {
    // Compiling only checks the syntax; nothing is matched here, so this cannot backtrack.
    new RegExp(source, flags);
    return true;
  } catch (error) {
    if (error instanceof SyntaxError) return false;
    throw error;
  }
}

function compileRegExp(source: string, flags: string): CompiledKey {
  // v's set operations nest classes, which toRe2Syntax does not follow.
  if (flags.includes('v')) return { refused: 'the v flag is not supported; use u or no flag' };
  if (source.length > maxKeyPatternLength) return tooLarge(`${source.length} characters; at most ${maxKeyPatternLength}`);
  const translated = toRe2Syntax(source);
  if (typeof translated !== 'string') return translated;
  let options = RE2JS.LOOKBEHINDS; // re2js runs captureless lookbehind in linear time too
  if (flags.includes('i')) options |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) options |= RE2JS.MULTILINE;
  if (flags.includes('s')) options |= RE2JS.DOTALL;
  let pattern: RE2JS;
  try {
    pattern = RE2JS.compile(RE2JS.translateRegExp(translated), options);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    return { refused: `RE2 cannot run it (${error.message})` };
  }
  const size = pattern.programSize();
  if (size > maxKeyProgramSize) return tooLarge(`${size} instructions; at most ${maxKeyProgramSize}`);
  return { matches: (text) => pattern.test(text) };
}

/** What JavaScript's `\s` matches; RE2's `\s` is only ASCII and would miss the ideographic space U+3000. */
const javaScriptSpace = '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';

/** Letters after `\` that mean something in JavaScript; any other escaped letter is the letter itself (`\A` is "A"). */
const javaScriptEscapeLetters = new Set('bBcdDfnpPrsStuvwWx');
const asciiPunctuation = /^[!-/:-@[-`{-~]$/;

/**
 * The JavaScript-only parts of a pattern in RE2's syntax, or why there is none; re2js's translateRegExp does the rest
 * (named groups, `\u`, `\c`, `[^]`). Identity escapes become plain characters (RE2 reads `\A`, `\z`, `\Q` as
 * operators and refuses `\（`), and `\s` gets JavaScript's Unicode whitespace. `\S` inside a class keeps RE2's
 * narrower meaning. A class never nests without the v flag, so one flag tracks whether we are inside one. Counted
 * repetitions are added up on the way (see maxKeyPatternLength).
 */
function toRe2Syntax(source: string): string | { refused: string } {
  let out = '';
  let inClass = false;
  let copies = 0;
  const openGroups: number[] = [];
  let lastGroup = { start: -1, end: -1 };
  for (let index = 0; index < source.length; index++) {
    const char = source[index]!;
    if (char === '\\') {
      const next = source[++index] ?? '';
      if (!inClass && (next === 'k' || (next >= '1' && next <= '9'))) {
        return { refused: `backreferences (\\${next}...) are not supported; RE2 runs in linear time because it has none` };
      }
      if (next === 's') out += inClass ? javaScriptSpace : `[${javaScriptSpace}]`;
      else if (next === 'S' && !inClass) out += `[^${javaScriptSpace}]`;
      else if (javaScriptEscapeLetters.has(next) || (next >= '0' && next <= '9') || asciiPunctuation.test(next)) out += char + next;
      else out += next;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
    } else if (char === '[') {
      inClass = true;
    } else if (char === '(' && source[index + 1] === '?' && (source[index + 2] === '=' || source[index + 2] === '!')) {
      return { refused: `lookahead "(?${source[index + 2]}" is not supported; RE2 runs in linear time because it has none` };
    } else if (char === '(') {
      openGroups.push(index);
    } else if (char === ')') {
      lastGroup = { start: openGroups.pop() ?? 0, end: index };
    } else if (char === '{') {
      countedRepetition.lastIndex = index;
      const counted = countedRepetition.exec(source);
      // What is repeated: the group that just closed, else one character, class or escape.
      const repeated = lastGroup.end === index - 1 ? index - lastGroup.start : 1;
      if (counted) copies += Math.max(Number(counted[1]), Number(counted[2] || 0)) * repeated;
      if (copies > maxKeyProgramSize) return tooLarge(`its counted repetitions make more than ${maxKeyProgramSize} copies`);
    }
    out += char;
  }
  return out;
}
