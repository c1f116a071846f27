/**
 * A ChatHaruhi character folder: `system_prompt.txt` and `texts/*.txt`, one story excerpt per file. The excerpts are
 * hand-made and vary: `Name:「line」` with either colon, `旁白:` narration, `:action` lines with no speaker, stage
 * directions in parentheses before or after the quote, a 「 that is never closed, and files of plain prose. Each file
 * becomes one chunk whose text is the file as written; `lines` is our reading of it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CharacterError } from '../../core/errors.js';

export interface ScriptLine {
  /** The speaker; null for narration. */
  role: string | null;
  /** What is said (quotes removed), or the narration. */
  text: string;
  kind: 'dialogue' | 'narration';
  /** A stage direction around the quote, like (春日指向操场), without its parentheses. */
  direction?: string;
}

export interface ScriptChunk {
  /** The file's name inside texts/. */
  file: string;
  text: string;
  lines: ScriptLine[];
}

export interface ChatHaruhiTexts {
  systemPrompt: string;
  chunks: ScriptChunk[];
}

const narratorNames = new Set(['旁白', '旁白者', '叙述', 'narrator', 'narration']);

// A speaker is a short name before the first colon: no quote, bracket or sentence punctuation in it.
const speakerPattern = /^([^:：「」『』()（）。！？!?,，;；"“”]{0,40}?)\s*[:：]\s*(.*)$/s;

const directionPattern = /^[(（]([^()（）]*)[)）]\s*/;
// No leading \s*: tried at every position of a long run of spaces it made a line quadratic (40,000 spaces, 3.5 s).
const trailingDirectionPattern = /[(（]([^()（）]*)[)）]$/;

/** Reads a file as UTF-8, refusing anything else with an error that names it. */
export function readUtf8File(path: string, label = path): string {
  const bytes = readFileSync(path);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch (error) {
    throw new CharacterError(label, null, 'not UTF-8 text (convert the file to UTF-8)', { cause: error });
  }
}

/** Splits `「quote」rest` with nested quotes; an unclosed 「 quotes to the end of the line. */
function splitQuote(text: string): { quote: string; rest: string } {
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '「') depth++;
    else if (char === '」') {
      depth--;
      if (depth === 0) return { quote: text.slice(1, index), rest: text.slice(index + 1) };
    }
  }
  return { quote: text.slice(1), rest: '' };
}

function parseDialogue(role: string, rest: string): ScriptLine {
  const directions: string[] = [];
  let remaining = rest.trim();
  const leading = directionPattern.exec(remaining);
  if (leading && remaining.slice(leading[0].length).startsWith('「')) {
    directions.push(leading[1]!.trim());
    remaining = remaining.slice(leading[0].length);
  }
  let text: string;
  if (remaining.startsWith('「')) {
    const { quote, rest: after } = splitQuote(remaining);
    text = quote.trim();
    const trailing = after.trim();
    if (trailing !== '') {
      const direction = /^[(（](.*)[)）]$/s.exec(trailing);
      directions.push(direction ? direction[1]!.trim() : trailing);
    }
  } else {
    // Spoken text without quotes (`Luna: yes`), possibly followed by a direction.
    const trailing = trailingDirectionPattern.exec(remaining);
    if (trailing && trailing.index > 0) {
      directions.push(trailing[1]!.trim());
      remaining = remaining.slice(0, trailing.index);
    }
    text = remaining.trim();
  }
  const line: ScriptLine = { role, text, kind: 'dialogue' };
  const direction = directions.filter((item) => item !== '').join(' ');
  if (direction !== '') line.direction = direction;
  return line;
}

function narration(text: string): ScriptLine {
  const trimmed = text.trim();
  const wrapped = /^「([^「」]*)」$/.exec(trimmed);
  return { role: null, text: wrapped ? wrapped[1]!.trim() : trimmed, kind: 'narration' };
}

function isScriptLine(line: string): boolean {
  const match = speakerPattern.exec(line.trim());
  if (!match) return false;
  const role = match[1]!.trim();
  const rest = match[2]!.trimStart().replace(directionPattern, '');
  return role === '' || narratorNames.has(role.toLowerCase()) || rest.startsWith('「');
}

function parseLine(line: string): ScriptLine | null {
  const trimmed = line.trim();
  if (trimmed === '') return null;
  const match = speakerPattern.exec(trimmed);
  if (!match) return narration(trimmed);
  const role = match[1]!.trim();
  const rest = match[2]!;
  if (role === '' || narratorNames.has(role.toLowerCase())) return narration(rest);
  return parseDialogue(role, rest);
}

/**
 * Reads one excerpt. A file with no script line at all (a character profile, a passage of prose) is narration
 * throughout, so that `Title: something` in prose is not taken for a speaker.
 */
export function parseScriptText(text: string, file: string): ScriptChunk {
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const rawLines = normalized.split('\n');
  const script = rawLines.some(isScriptLine);
  const lines: ScriptLine[] = [];
  for (const raw of rawLines) {
    if (raw.trim() === '') continue;
    const line = script ? parseLine(raw) : narration(raw);
    if (line && (line.text !== '' || line.direction !== undefined)) lines.push(line);
  }
  return { file, text: normalized, lines };
}

const naturalOrder = new Intl.Collator('en', { numeric: true });

/** Reads a ChatHaruhi character folder; texts come in natural file order (text_2 before text_10). */
export function parseChatHaruhiFolder(directory: string): ChatHaruhiTexts {
  const promptPath = join(directory, 'system_prompt.txt');
  const textsPath = join(directory, 'texts');
  if (!isFile(promptPath)) throw new CharacterError(promptPath, null, 'missing: a ChatHaruhi folder needs system_prompt.txt');
  if (!isDirectory(textsPath)) throw new CharacterError(textsPath, null, 'missing: a ChatHaruhi folder needs a texts/ folder');
  const systemPrompt = readUtf8File(promptPath).replace(/\r\n?/g, '\n').trim();
  const names = readdirSync(textsPath)
    .filter((name) => name.toLowerCase().endsWith('.txt') && isFile(join(textsPath, name)))
    .sort(naturalOrder.compare);
  const chunks = names
    .map((name) => parseScriptText(readUtf8File(join(textsPath, name)), name))
    .filter((chunk) => chunk.text.trim() !== '');
  return { systemPrompt, chunks };
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}
