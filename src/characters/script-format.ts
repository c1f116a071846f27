/**
 * ChatHaruhi's script form, `Name:「line」`: how story excerpts and chat history are written into the prompt, and how
 * a model that imitates it too faithfully answers. `stripScriptEcho` turns such an answer back into plain speech.
 */

const openQuote = '「';
const closeQuote = '」';

export function toScriptLine(name: string, text: string): string {
  return `${name}:${openQuote}${text}${closeQuote}`;
}

/**
 * When `text` is one whole 「...」 (nested quotes allowed, as in 「写着「SOS团」吗」), its inside; otherwise null.
 * 「A」和「B」 is two quotes, not one, and stays as it is.
 */
export function unwrapQuote(text: string): string | null {
  if (!text.startsWith(openQuote) || !text.endsWith(closeQuote) || text.length < 2) return null;
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === openQuote) depth++;
    else if (char === closeQuote) {
      depth--;
      if (depth === 0 && index < text.length - 1) return null;
    }
  }
  return depth === 0 ? text.slice(1, -1) : null;
}

const speakerLine = /^([^:：「」\n]{1,40}?)\s*[:：]\s*(.*)$/s;

function normalizeName(name: string): string {
  return name.trim().toLowerCase();
}

/** Inside of a spoken line: the 「」 around it removed (an unclosed 「 too, as models cut off mid-line do). */
function spokenText(rest: string): string {
  const trimmed = rest.trim();
  const unwrapped = unwrapQuote(trimmed);
  if (unwrapped !== null) return unwrapped.trim();
  if (trimmed.startsWith(openQuote) && !trimmed.includes(closeQuote)) return trimmed.slice(1).trim();
  return trimmed;
}

/**
 * Post-processes a reply from a model prompted with script lines. A line `Name:「...」` or `Name: ...` where Name is
 * one of `names` (the character's name and aliases) loses the prefix and the quotes; a whole-line 「...」 loses its
 * quotes. When the model goes on to write someone else's script line (`阿虚:「...」`, it is speaking for the user),
 * the reply ends there. A non-empty reply never comes back empty: then the original is returned.
 */
export function stripScriptEcho(reply: string, names: readonly string[]): string {
  const ownNames = new Set(names.map(normalizeName).filter((name) => name !== ''));
  const kept: string[] = [];
  for (const rawLine of reply.replace(/\r\n?/g, '\n').split('\n')) {
    const line = rawLine.trim();
    const speaker = speakerLine.exec(line);
    if (speaker) {
      const name = normalizeName(speaker[1]!);
      const rest = speaker[2]!;
      if (ownNames.has(name)) {
        kept.push(spokenText(rest));
        continue;
      }
      // Someone else's line in script form: the model has started writing the other side of the dialogue.
      if (rest.trimStart().startsWith(openQuote) && kept.some((text) => text !== '')) break;
    }
    const unwrapped = unwrapQuote(line);
    kept.push(unwrapped !== null ? unwrapped.trim() : rawLine.trimEnd());
  }
  const result = kept.join('\n').trim();
  return result === '' && reply.trim() !== '' ? reply : result;
}
