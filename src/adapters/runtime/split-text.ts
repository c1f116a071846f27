/**
 * Splitting a reply into messages a platform accepts (Discord: 2,000 characters; QQ: 1,500), on natural boundaries,
 * for every platform alike.
 */

const closers = `"'”’)\\]」』）》`;
// Each level cuts text into pieces whose concatenation is the text itself (the separator stays with the piece
// before it), tried in order: paragraphs, lines, sentences, words; a piece still too long is cut between graphemes.
const paragraphBoundary = /(?<=\n[^\S\n]*\n)(?=[^\n])/u;
const lineBoundary = /(?<=\n)(?=[^\n])/u;
// Chinese and Japanese sentence ends need no following space; Latin . ! ? only count before whitespace, so
// "3.14" and "node.js" stay whole.
const sentenceBoundary = new RegExp(
  `(?<=[。！？…][${closers}]*)(?=[^。！？…${closers}])|(?<=[.!?][${closers}]*\\s+)(?=\\S)`,
  'u',
);
const wordBoundary = /(?<=\s)(?=\S)/u;
const levels: readonly RegExp[] = [paragraphBoundary, lineBoundary, sentenceBoundary, wordBoundary];

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Splits `text` into ordered parts of at most `limit` UTF-16 code units (what platforms measure, conservatively):
 * whole paragraphs where they fit, then lines, sentences (。！？… and . ! ? followed by a space), words, and as a
 * last resort between grapheme clusters (never inside a surrogate pair or emoji). Parts are trimmed and never empty;
 * a blank text gives []. `limit` Infinity: one part.
 */
export function splitText(text: string, limit: number): string[] {
  if (!(Number.isInteger(limit) || limit === Number.POSITIVE_INFINITY) || limit < 2) {
    throw new RangeError(`splitText: limit must be an integer >= 2 (or Infinity), got ${String(limit)}`);
  }
  return splitAtLevel(text, limit, 0)
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function splitAtLevel(text: string, limit: number, level: number): string[] {
  if (text.trim().length <= limit) return [text];
  const boundary = levels[level];
  if (!boundary) return hardCut(text, limit);
  const pieces = text.split(boundary);
  if (pieces.length <= 1) return splitAtLevel(text, limit, level + 1);

  const chunks: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if ((current + piece).trim().length <= limit) {
      current += piece;
      continue;
    }
    if (current.trim().length > 0) chunks.push(current);
    if (piece.trim().length <= limit) {
      current = piece;
    } else {
      // The tail of a piece cut at a finer level may still share a part with what follows.
      const smaller = splitAtLevel(piece, limit, level + 1);
      chunks.push(...smaller.slice(0, -1));
      current = smaller.at(-1) ?? '';
    }
  }
  if (current.trim().length > 0) chunks.push(current);
  return chunks;
}

function hardCut(text: string, limit: number): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const { segment } of graphemes.segment(text.trim())) {
    // A grapheme longer than the limit (pathological combining runs) is cut between code points instead.
    for (const unit of segment.length > limit ? Array.from(segment) : [segment]) {
      if (current.length + unit.length > limit) {
        chunks.push(current);
        current = '';
      }
      current += unit;
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
