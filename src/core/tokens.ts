/**
 * Token counting by estimate. A real BPE tokenizer costs ~1 s to load and ~0.5 ms per Chinese sentence, and the
 * model's own tokenizer (Qwen, Llama 3, GPT-4o, DeepSeek...) is not known anyway. The estimate is deliberately an
 * upper bound for modern vocabularies: test/tokens.test.ts checks it against o200k_base on Chinese and
 * English text, so budgets computed with it are never exceeded in practice.
 */

// Han, kana, hangul, CJK punctuation and full-width forms: o200k_base spends ~0.73 tokens per Chinese character,
// Qwen and DeepSeek less; cl100k_base (GPT-3.5/4) ~1.2, so give such models a smaller context_window.
const wideCharacter = /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]/u;
const wideTokenWeight = 1.05;

/** Tokens the chat format spends around each message (role markers, separators). */
export const messageOverheadTokens = 4;

export function countTokens(text: string): number {
  let wide = 0;
  let other = 0;
  let wordLength = 0;
  const flushWord = () => {
    // English words average ~4 characters per token; a short word is still one token.
    if (wordLength > 0) other += Math.ceil(wordLength / 4);
    wordLength = 0;
  };
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) {
      wordLength += code <= 0x39 ? 1.34 : 1; // digits tokenize in groups of up to three
      continue;
    }
    flushWord();
    if (code === 0x20 || code === 0x0a) continue; // spaces merge into the next word's token
    if (code < 0x80) other += 1; // punctuation
    else if (wideCharacter.test(char)) wide += 1;
    else if (code >= 0x1f000) other += 3; // emoji and other astral symbols span several byte tokens
    else other += 1.5; // accented Latin, Cyrillic, ...
  }
  flushWord();
  return Math.ceil(wide * wideTokenWeight + other);
}

/** Cuts text so that countTokens(result) <= budget, ending with an ellipsis when something was cut. */
export function truncateToTokens(text: string, budget: number): string {
  if (budget <= 0) return '';
  if (countTokens(text) <= budget) return text;
  const characters = Array.from(text);
  let low = 0;
  let high = characters.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (countTokens(characters.slice(0, middle).join('') + '…') <= budget) low = middle;
    else high = middle - 1;
  }
  return low === 0 ? '' : characters.slice(0, low).join('').trimEnd() + '…';
}
