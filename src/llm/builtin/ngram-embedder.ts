/**
 * The embedder that needs no model: feature hashing of character n-grams, so a fresh install works offline (the
 * seeds' word-similarity fallback, done as vectors). Chinese, Japanese and Korean are written without spaces, so
 * their text is read as character unigrams, bigrams and trigrams; other scripts as lowercased words plus each word's
 * boundary-marked character trigrams, so "cats" and "cat" land near each other.
 *
 * Each feature adds ±weight to one of `dimension` buckets (a second hash picks the sign, which keeps unrelated
 * collisions from adding up), with sublinear term frequency; function words count a little, not nothing. The
 * vector is L2-normalized. Deterministic across runs and machines: the id names the feature scheme and dimension.
 */
import { ConfigError } from '../../core/errors.js';
import type { Embedder } from '../types.js';

export const defaultBuiltinDimension = 384;

const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const wordCharacter = /[\p{L}\p{N}]/u;

/** Frequent words that carry little meaning on their own: down-weighted, never dropped (a query may be only them). */
const functionWords = new Set([
  'a', 'an', 'the', 'and', 'or', 'but', 'of', 'to', 'in', 'on', 'at', 'for', 'with', 'by', 'from', 'as', 'is', 'are',
  'was', 'were', 'be', 'been', 'am', 'do', 'does', 'did', 'have', 'has', 'had', 'i', 'you', 'he', 'she', 'it', 'we',
  'they', 'me', 'my', 'your', 'his', 'her', 'its', 'our', 'their', 'this', 'that', 'these', 'those', 'what', 'which',
  'who', 'how', 'when', 'where', 'why', 'so', 'if', 'then', 'than', 'too', 'very', 'can', 'could', 'will', 'would',
  'should', 'just', 'not', 'no', 'yes', 'about', 'there', 'here', 'some', 'any', 'all', 'more', 'also',
]);
const functionCharacters = new Set(Array.from('的了是我你他她它们在吗呢吧啊呀哦嗯和与就都也还又很这那有个不要会说'));

const weights = { unigram: 0.6, bigram: 1, trigram: 1.1, word: 1, wordTrigram: 0.5, functionFactor: 0.25 };

/** FNV-1a over UTF-16 code units, seeded: fast, allocation-free, and the same everywhere. */
function hash(text: string, seed: number): number {
  let value = (2166136261 ^ seed) >>> 0;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 16777619);
  }
  // final avalanche so short n-grams spread over all buckets
  value ^= value >>> 15;
  value = Math.imul(value, 0x2c1b3c6d);
  value ^= value >>> 12;
  return value >>> 0;
}

/** Adds each feature's count to `counts` (feature → weighted count). */
function collectFeatures(text: string, counts: Map<string, number>): void {
  const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
  const characters = Array.from(text.normalize('NFKC').toLowerCase());
  let run: string[] = []; // consecutive CJK characters
  let word = '';
  const flushRun = () => {
    for (let index = 0; index < run.length; index++) {
      const first = run[index]!;
      add(`u${first}`, functionCharacters.has(first) ? weights.unigram * weights.functionFactor : weights.unigram);
      if (index + 1 < run.length) {
        const second = run[index + 1]!;
        const bothFunction = functionCharacters.has(first) && functionCharacters.has(second);
        add(`b${first}${second}`, bothFunction ? weights.bigram * weights.functionFactor : weights.bigram);
        if (index + 2 < run.length) add(`t${first}${second}${run[index + 2]!}`, weights.trigram);
      }
    }
    run = [];
  };
  const flushWord = () => {
    if (!word) return;
    const factor = functionWords.has(word) ? weights.functionFactor : 1;
    add(`w${word}`, weights.word * factor);
    const marked = `<${word}>`;
    if (marked.length > 4) for (let index = 0; index + 3 <= marked.length; index++) add(`g${marked.slice(index, index + 3)}`, weights.wordTrigram * factor);
    word = '';
  };
  for (const character of characters) {
    if (cjk.test(character)) {
      flushWord();
      run.push(character);
    } else if (wordCharacter.test(character)) {
      flushRun();
      word += character;
    } else {
      flushRun();
      flushWord();
    }
  }
  flushRun();
  flushWord();
}

export function embedText(text: string, dimension: number): Float32Array {
  const counts = new Map<string, number>();
  collectFeatures(text, counts);
  const vector = new Float32Array(dimension);
  for (const [feature, count] of counts) {
    const bucket = hash(feature, 0x9e3779b9) % dimension;
    const sign = (hash(feature, 0x85ebca6b) & 1) === 0 ? 1 : -1;
    // sublinear: a word said five times is not five times the topic
    vector[bucket] = vector[bucket]! + sign * (count >= 1 ? 1 + Math.log(count) : count);
  }
  let norm = 0;
  for (let index = 0; index < dimension; index++) norm += vector[index]! * vector[index]!;
  if (norm === 0) {
    // Nothing to hash (empty text, punctuation only): a fixed unit vector, so nothing downstream sees NaN.
    vector[0] = 1;
    return vector;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let index = 0; index < dimension; index++) vector[index] = vector[index]! * scale;
  return vector;
}

export function createBuiltinEmbedder(options: { dimension?: number } = {}): Embedder {
  const dimension = options.dimension ?? defaultBuiltinDimension;
  if (!(Number.isInteger(dimension) && dimension >= 16 && dimension <= 8192)) {
    throw new ConfigError('memory.embedder.dimension', `an integer from 16 to 8192 for the builtin embedder (got ${dimension})`, 'memory settings');
  }
  return {
    id: `builtin:ngram-v1:${dimension}`,
    dimension,
    async embed(texts, embedOptions) {
      embedOptions?.signal?.throwIfAborted();
      return texts.map((text) => embedText(text, dimension));
    },
  };
}
