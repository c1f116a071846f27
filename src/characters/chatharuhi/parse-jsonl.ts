/**
 * ChatHaruhi's packed character file (`<role>.jsonl`, as published with ChatHaruhi 2): one JSON object a line, each
 * with `text` and one embedding column named after the embedding model (`luotuo_openai`, `bge_zh_s15`, ...).
 * The column's value is `"system_prompt"` on the system prompt's row, `"config"` on the config row, and otherwise
 * the base64 of the text's vector as big-endian float32 (Python's `struct.pack('!f')`).
 */
import { CharacterError } from '../../core/errors.js';
import { readUtf8File } from './parse-texts.js';

export interface ChatHaruhiJsonlChunk {
  text: string;
  /** null when the row carries no vector (an empty column): the importer embeds it again. */
  vector: Float32Array | null;
}

export interface ChatHaruhiJsonl {
  systemPrompt: string;
  /** The config row's text (ChatHaruhi writes a placeholder there); null when the file has no config row. */
  config: string | null;
  embeddingColumn: string;
  chunks: ChatHaruhiJsonlChunk[];
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes one vector; `where` names the file and line for the error. */
export function decodeBigEndianFloat32(base64: string, where: string, column: string): Float32Array {
  const compact = base64.replace(/\s+/g, '');
  if (!base64Pattern.test(compact) || compact.length % 4 === 1) {
    throw new CharacterError(where, column, 'the vector is not valid base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length === 0 || bytes.length % 4 !== 0) {
    throw new CharacterError(where, column, `the vector has ${bytes.length} bytes, not a whole number of float32 values`);
  }
  const vector = new Float32Array(bytes.length / 4);
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatBE(index * 4);
  return vector;
}

export function encodeBigEndianFloat32(vector: ArrayLike<number>): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index++) bytes.writeFloatBE(vector[index]!, index * 4);
  return bytes.toString('base64');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses the whole file's text; `file` names it in errors, which also give the 1-based line number. */
export function parseChatHaruhiJsonl(content: string, file: string): ChatHaruhiJsonl {
  const rows: Array<{ row: Record<string, unknown>; where: string }> = [];
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${file} line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new CharacterError(where, null, `invalid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (!isRecord(value)) throw new CharacterError(where, null, 'each line must be a JSON object');
    if (typeof value.text !== 'string') throw new CharacterError(where, 'text', 'must be a string');
    rows.push({ row: value, where });
  });

  // The column is found by its marker value, as ChatHaruhi's own loader does, not by its position.
  const promptRow = rows.find(({ row }) => Object.entries(row).some(([key, value]) => key !== 'text' && value === 'system_prompt'));
  if (!promptRow) throw new CharacterError(file, null, 'no system prompt row (a row whose embedding column is "system_prompt")');
  const embeddingColumn = Object.entries(promptRow.row).find(([key, value]) => key !== 'text' && value === 'system_prompt')![0];
  // How errors name the column: one named "" would otherwise vanish from the message.
  const columnField = embeddingColumn === '' ? '""' : embeddingColumn;

  let config: string | null = null;
  let dimension: number | null = null;
  const chunks: ChatHaruhiJsonlChunk[] = [];
  for (const { row, where } of rows) {
    if (row === promptRow.row) continue;
    const marker = row[embeddingColumn];
    if (marker === 'config') {
      config = row.text as string;
      continue;
    }
    if (marker === undefined || marker === null || marker === '') {
      chunks.push({ text: row.text as string, vector: null });
      continue;
    }
    if (typeof marker !== 'string') throw new CharacterError(where, columnField, 'must be a base64 string');
    const vector = decodeBigEndianFloat32(marker, where, columnField);
    dimension ??= vector.length;
    if (vector.length !== dimension) {
      throw new CharacterError(where, columnField, `the vector has ${vector.length} dimensions, earlier rows have ${dimension}`);
    }
    chunks.push({ text: row.text as string, vector });
  }
  return { systemPrompt: promptRow.row.text as string, config, embeddingColumn, chunks };
}

/** Reads and parses a jsonl file from disk (UTF-8 only). */
export function readChatHaruhiJsonl(path: string): ChatHaruhiJsonl {
  return parseChatHaruhiJsonl(readUtf8File(path), path);
}
