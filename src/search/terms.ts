/**
 * Our own segmentation for the one FTS5 index (SQLite's unicode61 keeps a whole run of Chinese as one token, and
 * trigram cannot match a 1-2 character query). Documents and queries go through the same function:
 *
 * - CJK runs (Han, kana, hangul) → every character and every adjacent pair: "团子" → 团, 子, 团子. A few very common
 *   function characters are dropped as unigrams (they still live inside bigrams).
 * - Latin and other letters → lowercased words, English stopwords removed, light suffix stemming, so "named",
 *   "names", "naming" and "name" meet.
 * - Numbers are kept as they are ("2023", "3").
 *
 * Every term is then prefixed with its scope: `s42x` + term. unicode61 sees `s42x团子` as one token (letters and
 * digits only), the 'x' ends the digits so scope 4's "2cat" (s4x2cat) never equals scope 42's "cat" (s42xcat).
 */

const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const termCharacter = /[\p{L}\p{N}]/u;

const englishStopwords = new Set(
  (
    'a an the and or but if then so of to in on at by for with from as is am are was were be been being do does did ' +
    'have has had i me my mine we us our you your yours he him his she her it its they them their this that these ' +
    'those what which who whom whose when where why how there here not no yes can could will would shall should may ' +
    'might must just about into over than too very also only own same such some any all each both few more most ' +
    'other s t d ll m re ve don doesn didn isn wasn aren weren won wouldn ok okay oh ah um uh hey hi hello please tell ' +
    'said say says dont doesnt didnt isnt wasnt arent cant wont im ive youre thats whats let'
  ).split(' '),
);

// Function characters so common that as unigrams they only add noise (bigrams keep them in context).
const chineseStopCharacters = new Set([...'的了是在吗呢吧啊呀哦嗯和也就都而及与着或么之这那个们把被让给得地很还又']);

/** Light English stemming: enough to make plural, past and -ing forms meet their stem; never below 3 letters. */
export function stemWord(word: string): string {
  let stem = word;
  if (stem.length > 4 && stem.endsWith('ies')) stem = `${stem.slice(0, -3)}y`;
  else if (stem.length > 4 && stem.endsWith('sses')) stem = stem.slice(0, -2);
  else if (stem.length > 4 && /(?:ss|x|z|ch|sh)es$/.test(stem)) stem = stem.slice(0, -2);
  else if (stem.length > 3 && stem.endsWith('s') && !stem.endsWith('ss') && !stem.endsWith('us') && !stem.endsWith('is')) {
    stem = stem.slice(0, -1);
  }
  if (stem.length > 5 && stem.endsWith('ing')) stem = undouble(stem.slice(0, -3));
  else if (stem.length > 4 && stem.endsWith('ed')) stem = undouble(stem.slice(0, -2));
  if (stem.length > 3 && stem.endsWith('e')) stem = stem.slice(0, -1);
  return stem;
}

function undouble(stem: string): string {
  return /([bdfgmnprt])\1$/.test(stem) ? stem.slice(0, -1) : stem;
}

/** The unscoped terms of a text, in order, duplicates kept (BM25 counts term frequency). */
export function segmentText(text: string): string[] {
  const normalized = text.normalize('NFKC').toLowerCase();
  const terms: string[] = [];
  let word = '';
  let cjkRun: string[] = [];
  const flushWord = () => {
    if (!word) return;
    // "cat's" → cat, "don't" → dont (a stopword); unicode61 would split on the apostrophe otherwise
    const plain = word.replace(/'s$/, '').replace(/'/g, '');
    word = '';
    if (!plain) return;
    if (/^\p{N}+$/u.test(plain)) {
      terms.push(plain);
      return;
    }
    if (englishStopwords.has(plain)) return;
    const stem = /^[a-z0-9]+$/.test(plain) ? stemWord(plain) : plain;
    if (stem && !englishStopwords.has(stem)) terms.push(stem);
  };
  const flushCjk = () => {
    for (let index = 0; index < cjkRun.length; index++) {
      const character = cjkRun[index]!;
      if (!chineseStopCharacters.has(character)) terms.push(character);
      const next = cjkRun[index + 1];
      if (next !== undefined) terms.push(character + next);
    }
    cjkRun = [];
  };
  for (const character of normalized) {
    if (cjk.test(character)) {
      flushWord();
      cjkRun.push(character);
    } else if (termCharacter.test(character)) {
      flushCjk();
      word += character;
    } else if ((character === "'" || character === '’') && word) {
      // "cat's" and "don't" stay one word for the stemmer and stopword list
      word += "'";
    } else {
      flushWord();
      flushCjk();
    }
  }
  flushWord();
  flushCjk();
  return terms;
}

export function scopePrefix(scopeId: number): string {
  return `s${scopeId}x`;
}

/** The text stored in memory_text for a memory of this scope. */
export function documentTerms(scopeId: number, text: string): string {
  const prefix = scopePrefix(scopeId);
  return segmentText(text).map((term) => prefix + term).join(' ');
}

/** An FTS5 MATCH expression: the OR of the query's distinct scoped terms, each quoted; null when nothing to search. */
export function queryExpression(scopeId: number, text: string, maxTerms = 64): string | null {
  return expressionOf(scopeId, segmentText(text), maxTerms);
}

function expressionOf(scopeId: number, terms: readonly string[], maxTerms: number): string | null {
  const prefix = scopePrefix(scopeId);
  const distinct = [...new Set(terms)].slice(0, maxTerms);
  if (distinct.length === 0) return null;
  return distinct.map((term) => `"${prefix}${term}"`).join(' OR ');
}

// The words that make a sentence a question about the past rather than say what it is about: "do you remember",
// "I once told you", "我曾经和你说过…是什么". In documents they are rare enough that BM25 gives them a high weight,
// so a memory that happens to contain "remember" or 曾经 would outrank the one about the thing asked for.
// Only queries drop them; documents keep every term.
const englishQuestionWords = new Set(
  (
    'remember remembered recall recalled remind reminded forget forgot forgotten once ever before previously earlier ' +
    'mention mentioned told talk talked chat chatted share shared discuss discussed'
  )
    .split(' ')
    .map(stemWord),
);

// Longest first, so 还记得 goes before 记得. The pronouns of a question (我 = the asker, 你 = the character) join the
// list because every memory holds them and the bigrams they make across word boundaries (我喜, 给你) are noise.
const chineseQuestionPhrases = [
  '你还记得', '还记得', '记不记得', '记得', '忘了', '曾经', '之前', '以前', '上次', '告诉过', '告诉', '提到过', '提到', '提过',
  '说过', '讲过', '聊过', '谈过', '分享过', '分享', '是不是', '有没有', '对不对', '对吧', '什么', '哪些', '哪个', '哪一', '哪里',
  '哪儿', '怎么样', '怎么', '为什么', '我们', '咱们', '你', '我', '吗', '呢',
].sort((left, right) => right.length - left.length);
const chineseQuestionPattern = new RegExp(chineseQuestionPhrases.join('|'), 'g');

/**
 * The terms of a question asked of memory: segmentText without the question's own scaffolding (see above), and
 * without the CJK single characters that one of its bigrams already holds ("樱花" asks for 樱花, not for every
 * memory with 花 in it: single characters are the longest postings and the weakest evidence, and cost most of a
 * BM25 lookup). A lone character ("猫") stays. When nothing else is left ("你还记得吗"), the full terms are used.
 */
export function questionTerms(text: string): string[] {
  const terms = segmentText(text.normalize('NFKC').replace(chineseQuestionPattern, ' ')).filter(
    (term) => !englishQuestionWords.has(term),
  );
  const inBigrams = new Set<string>();
  for (const term of terms) {
    if (term.length === 2 && cjk.test(term)) for (const character of term) inBigrams.add(character);
  }
  const content = terms.filter((term) => !(term.length === 1 && inBigrams.has(term)));
  return content.length > 0 ? content : segmentText(text);
}

/** queryExpression for a question asked of memory: its scaffolding left out (questionTerms). */
export function questionExpression(scopeId: number, text: string, maxTerms = 64): string | null {
  return expressionOf(scopeId, questionTerms(text), maxTerms);
}
