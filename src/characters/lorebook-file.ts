/**
 * A lorebook kept as its own file (a character's `lorebook.json` / `lorebook.yaml`). Two shapes are accepted: a card's
 * `character_book` (entries as a list, the spec's field names) and a SillyTavern world-info export (entries as an
 * object keyed by uid, with `key`, `keysecondary`, `order`, `disable`, ...), which is converted to the first.
 */
import { basename } from 'node:path';
import { CharacterError } from '../core/errors.js';
import { describeYamlProblem, parseYamlDocument, yamlValue } from '../util/yaml-text.js';
import type { Lorebook } from './lorebook.js';
import { parseLorebook } from './lorebook.js';
import { checkNesting, displayPath, mebibyte, readTextFile } from './text-files.js';

export const lorebookFileNames = ['lorebook.json', 'lorebook.yaml', 'lorebook.yml'] as const;
export const maxLorebookFileBytes = 5 * mebibyte;

/** Reads and validates a lorebook file; the format follows the extension (.json, else YAML). */
export function readLorebookFile(path: string, shown = displayPath(path)): Lorebook {
  const text = readTextFile(path, maxLorebookFileBytes, 'a lorebook file', shown).replace(/^\uFEFF/, '');
  let value: unknown;
  if (basename(path).toLowerCase().endsWith('.json')) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new CharacterError(shown, null, `invalid JSON: ${(error as Error).message}`, { cause: error });
    }
    checkNesting(value, shown);
  } else {
    const yaml = parseYamlDocument(text);
    if ('problem' in yaml) throw new CharacterError(shown, null, describeYamlProblem(yaml.problem));
    const read = yamlValue(yaml.document);
    if ('problem' in read) throw new CharacterError(shown, null, read.problem);
    value = read.value;
  }
  return lorebookFromValue(value, shown, '');
}

/**
 * Validates a parsed lorebook in either shape. `field` is where it sits in its file (`lorebook` in a world file, ''
 * for a file of its own); errors name `file` and the field inside it.
 */
export function lorebookFromValue(value: unknown, file: string, field: string): Lorebook {
  if (value === null || value === undefined) {
    throw new CharacterError(file, field || null, 'expected a lorebook (a mapping with "entries"), but it is empty');
  }
  // A lorebook file of its own is named `lorebook` in errors, as a world file's `lorebook` field is.
  const name = field || 'lorebook';
  if (Array.isArray(value)) {
    try {
      return parseLorebook({ entries: value }, file, name);
    } catch (error) {
      // The file has the list itself where parseLorebook sees `entries`: name the field as it is written.
      if (!(error instanceof CharacterError) || error.field === null) throw error;
      throw new CharacterError(file, error.field.replace(`${name}.entries`, name), error.problem, { cause: error });
    }
  }
  if (typeof value !== 'object') {
    throw new CharacterError(file, field || null, 'expected a lorebook: a mapping with "entries", or a list of entries');
  }
  const record = value as Record<string, unknown>;
  // A whole card given as the lorebook file: take its book.
  const data = record.data;
  if (typeof data === 'object' && data !== null && 'character_book' in data) {
    return lorebookFromValue((data as Record<string, unknown>).character_book, file, joinField(field, 'data.character_book'));
  }
  const entries = record.entries;
  if (typeof entries === 'object' && entries !== null && !Array.isArray(entries)) {
    return parseLorebook(fromWorldInfo(record, entries as Record<string, unknown>, file, field), file, name);
  }
  return parseLorebook(value, file, name);
}

function joinField(prefix: string, field: string): string {
  return prefix ? `${prefix}.${field}` : field;
}

// World-info fields that map onto the card spec's own; every other field is kept under the entry's `extensions`.
const worldInfoConsumed = new Set([
  'uid', 'key', 'keysecondary', 'comment', 'content', 'constant', 'selective', 'order', 'disable', 'caseSensitive', 'extensions',
]);

/** SillyTavern's world-info file → a card `character_book` (the mapping SillyTavern uses when it embeds one). */
function fromWorldInfo(book: Record<string, unknown>, entries: Record<string, unknown>, file: string, field: string): Record<string, unknown> {
  const converted = Object.entries(entries).map(([uid, raw]) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new CharacterError(file, joinField(field, `entries.${uid}`), 'expected an entry (a mapping with key and content)');
    }
    const entry = raw as Record<string, unknown>;
    const extensions: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(entry)) if (!worldInfoConsumed.has(name)) extensions[name] = item;
    if (typeof entry.extensions === 'object' && entry.extensions !== null) Object.assign(extensions, entry.extensions);
    const position = entry.position === 0 ? 'before_char' : entry.position === 1 ? 'after_char' : undefined;
    return {
      id: entry.uid ?? (Number.isNaN(Number(uid)) ? uid : Number(uid)),
      keys: entry.key,
      secondary_keys: entry.keysecondary,
      comment: entry.comment,
      content: entry.content,
      constant: entry.constant,
      selective: entry.selective,
      insertion_order: entry.order,
      enabled: typeof entry.disable === 'boolean' ? !entry.disable : undefined,
      case_sensitive: entry.caseSensitive,
      position,
      extensions,
    };
  });
  return { ...book, entries: converted };
}
