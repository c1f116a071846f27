/**
 * Encoding the engine's reply for Discord: split long text at Discord's 2,000-character limit on natural
 * boundaries, and the allowed-mentions policy every message the bot sends carries.
 */
import type { MessageMentionOptions } from 'discord.js';

/** Discord refuses message content longer than this. */
export const discordMessageLimit = 2000;

/**
 * Never ping @everyone, @here, a role or a user because of what the model wrote (`parse: []` turns off parsing of
 * `<@id>`, `<@&id>` and `@everyone` in the content); only the person the bot answers is notified, through the
 * reply itself (`repliedUser: true`), as with any human reply.
 */
export const discordAllowedMentions: Readonly<MessageMentionOptions> = Object.freeze({ parse: [], repliedUser: true });

// Each level cuts a piece of text into smaller pieces; the separator stays at the end of the piece before it, so
// concatenating the pieces gives back the text exactly.
const paragraphBoundary = /(?<=\n[^\S\n]*\n)(?=[^\n])/u;
// After . ! ? … (optionally followed by closing quotes or brackets) when whitespace follows, after Chinese and
// Japanese sentence ends even without whitespace, and after every newline.
const sentenceBoundary =
  /(?<=[.!?。！？…]["'”’)\]」』）》]*\s+)(?=\S)|(?<=[。！？…]["'”’)\]」』）》]*)(?=[^\s。！？…"'”’)\]」』）》.!?])|(?<=\n)(?=[^\n])/u;
const wordBoundary = /(?<=\s)(?=\S)/u;

const levels: readonly RegExp[] = [paragraphBoundary, sentenceBoundary, wordBoundary];

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Splits `text` into ordered parts of at most `limit` UTF-16 code units (what Discord measures conservatively):
 * whole paragraphs where they fit, then sentences, then words, and only as a last resort inside a word — between
 * grapheme clusters, so never inside a surrogate pair or an emoji sequence. Parts are trimmed; empty parts are
 * dropped, so a blank text gives an empty array.
 */
export function splitForDiscord(text: string, limit: number = discordMessageLimit): string[] {
  if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`splitForDiscord: limit must be an integer >= 2, got ${limit}`);
  const parts: string[] = [];
  for (const part of splitAtLevel(text, limit, 0)) {
    const trimmed = part.trim();
    if (trimmed.length > 0) parts.push(trimmed);
  }
  return parts;
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
    current = '';
    if (piece.trim().length <= limit) {
      current = piece;
    } else {
      // A piece too long on its own is cut at the next level; its last bit may still share a part with what follows.
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
  for (const { segment } of graphemes.segment(text)) {
    // A single grapheme longer than the limit (absurd combining sequences) is cut between code points instead.
    const units = segment.length > limit ? Array.from(segment) : [segment];
    for (const unit of units) {
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
