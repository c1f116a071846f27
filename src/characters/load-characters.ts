/**
 * Loads characters from disk: one folder per character, `characters/<id>/character.yaml` (or `.yml`).
 * The format is documented in docs/characters.md. Every problem becomes a CharacterError that names the file,
 * the field and what was expected, so a person editing a card by hand can fix it from the message alone.
 * One bad card never stops the others from loading.
 */
import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Document, type Node as YamlNode, isCollection, isMap, isScalar, isSeq, visit } from 'yaml';
import { z } from 'zod';
import { CharacterError } from '../core/errors.js';
import { describeYamlProblem, parseYamlDocument, yamlValue } from '../util/yaml-text.js';
import type { Character, CharacterModelSettings, DialogueTurn, ScriptSettings } from './character.js';
import type { Lorebook } from './lorebook.js';
import { lorebookFileNames, readLorebookFile } from './lorebook-file.js';
import { readScriptFolder } from './script-folder.js';
import { decodeUtf8, displayPath, isDirectory, isFile, readLimitedFile, systemReason } from './text-files.js';
import type { World } from './world.js';
import { loadWorlds, worldFileExtensions, worldsFolderName } from './world.js';

/** The names a character file may have, in order of preference. */
export const characterFileNames = ['character.yaml', 'character.yml'] as const;

/** Cards are hand-written text; anything bigger is a mistake (a pasted log, a binary) and would swamp the prompt. */
export const maxCharacterFileBytes = 1024 * 1024;

const idPattern = /^[a-z0-9_-]+$/;

/** ChatHaruhi's defaults: about 1500 tokens of story per prompt. */
export const defaultScriptSettings: ScriptSettings = { budgetTokens: 1500, minChunks: 3 };

export interface LoadedCharacters {
  characters: Map<string, Character>;
  /** The worlds in `<directory>/_worlds/`. */
  worlds: Map<string, World>;
  /** Characters that could not be loaded, bad world files, and references to worlds that are missing or bad. */
  errors: CharacterError[];
}

/**
 * Loads every character folder under `directory` (folders without a character file are skipped) and the worlds in
 * its `_worlds/` folder. A character whose world is missing or broken still loads, without the world; the problem
 * is reported in `errors`.
 */
export function loadCharacters(directory: string): LoadedCharacters {
  const characters = new Map<string, Character>();
  const errors: CharacterError[] = [];
  let entries: string[];
  try {
    entries = readdirSync(directory).sort();
  } catch (error) {
    errors.push(new CharacterError(displayPath(directory), null, `cannot read the characters folder (${systemReason(error)})`, { cause: error }));
    return { characters, worlds: new Map(), errors };
  }
  const worldsDirectory = join(directory, worldsFolderName);
  const { worlds, errors: worldErrors } = loadWorlds(worldsDirectory);
  errors.push(...worldErrors);
  for (const entry of entries) {
    // Hidden folders (.git, editor swap folders, an import in progress) are never characters; nor is _worlds.
    if (entry.startsWith('.') || entry === worldsFolderName) continue;
    const folder = join(directory, entry);
    if (!isDirectory(folder) || findCharacterFile(folder) === null) continue;
    try {
      const character = loadCharacter(folder);
      characters.set(character.id, character);
      if (character.worldId !== null && !worlds.has(character.worldId)) {
        errors.push(missingWorldError(character, worldsDirectory, worldErrors));
      }
    } catch (error) {
      errors.push(
        error instanceof CharacterError
          ? error
          : new CharacterError(displayPath(folder), null, `could not be loaded (${systemReason(error)})`, { cause: error }),
      );
    }
  }
  return { characters, worlds, errors };
}

function missingWorldError(character: Character, worldsDirectory: string, worldErrors: readonly CharacterError[]): CharacterError {
  const id = character.worldId!;
  const candidates = worldFileExtensions.map((extension) => displayPath(join(worldsDirectory, `${id}${extension}`)));
  const broken = worldErrors.find((error) => candidates.includes(error.file));
  const problem = broken
    ? `world "${id}" could not be loaded (see the error for ${broken.file}); the character is used without it`
    : `world "${id}" not found: expected ${candidates[0]}; the character is used without it`;
  return new CharacterError(displayPath(character.file), 'world', problem);
}

/**
 * Loads the one character in `folder` (its name is the id) with its lorebook file and script folder; throws
 * CharacterError when it cannot be used. The world is resolved by loadCharacters (it lives beside the characters).
 */
export function loadCharacter(folder: string): Character {
  const directory = resolve(folder);
  const found = findCharacterFile(directory);
  if (found === null) {
    throw new CharacterError(displayPath(directory), null, `no ${characterFileNames.join(' or ')} in this folder`);
  }
  if (found.both) {
    throw new CharacterError(
      displayPath(directory),
      null,
      `both ${characterFileNames.join(' and ')} exist; keep one of them so it is clear which is the character`,
    );
  }
  const file = found.file;
  const shown = displayPath(file);
  const id = basename(directory);
  if (!idPattern.test(id)) {
    throw new CharacterError(
      shown,
      null,
      `the folder name "${id}" is not a valid character id: use only lowercase letters a-z, digits, "_" and "-"`,
    );
  }

  const bytes = readLimitedFile(file, maxCharacterFileBytes, 'a character file', shown);
  const character = parseCharacterYaml(decodeUtf8(bytes, shown), { id, directory, file, shownFile: shown });
  return { ...character, lorebook: readCharacterLorebook(directory), script: readScriptFolder(directory) };
}

/** The lorebook file in a character folder, or null when there is none. */
export function readCharacterLorebook(directory: string): Lorebook | null {
  const present = lorebookFileNames.map((name) => join(directory, name)).filter(isFile);
  if (present.length > 1) {
    throw new CharacterError(
      displayPath(directory),
      null,
      `more than one lorebook file (${present.map((path) => basename(path)).join(', ')}); keep one of them`,
    );
  }
  return present[0] === undefined ? null : readLorebookFile(present[0]);
}

/** Where a card came from; `shownFile` is the path used in error messages (relative to the working folder when inside it). */
export interface CharacterSource {
  readonly id: string;
  readonly directory: string;
  readonly file: string;
  readonly shownFile?: string;
}

/**
 * Parses and validates the text of a character file. Exported for importers and tests that hold the YAML in memory;
 * throws CharacterError like loadCharacter.
 */
export function parseCharacterYaml(text: string, source: CharacterSource): Character {
  const shown = source.shownFile ?? displayPath(source.file);
  const yaml = parseYamlDocument(text);
  if ('problem' in yaml) {
    const lineText = text.split(/\r?\n/)[yaml.problem.line - 1]?.trim();
    const quoted = lineText ? ` (the line reads: ${JSON.stringify(truncate(lineText, 60))})` : '';
    const hint = lineText && /:\s*\{\{/.test(lineText) ? `; ${unquotedMacroHint}` : '';
    throw new CharacterError(shown, null, `${describeYamlProblem(yaml.problem)}${quoted}${hint}`);
  }
  const { document, lineCounter } = yaml;
  // `greeting: {{user}}` is valid YAML (a mapping inside a mapping key), not the text it looks like.
  const collectionKey = findCollectionKey(document);
  if (collectionKey) {
    const position = lineCounter.linePos(collectionKey.range?.[0] ?? 0);
    const lineText = text.split(/\r?\n/)[position.line - 1]?.trim() ?? '';
    const problem = lineText.includes('{{') ? unquotedMacroHint : 'a key must be plain text, not a list or mapping';
    throw new CharacterError(shown, null, `invalid YAML at line ${position.line}, column ${position.col}: ${problem} (the line reads: ${JSON.stringify(truncate(lineText, 60))})`);
  }

  const read = yamlValue(document);
  if ('problem' in read) throw new CharacterError(shown, null, read.problem);
  const data = read.value;
  if (data === null || data === undefined) {
    throw new CharacterError(shown, null, 'the file is empty; expected a mapping of fields (name, language, description, ...)');
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new CharacterError(shown, null, `expected a mapping of fields (name, language, description, ...), got ${describeValue(data)}`);
  }
  const record = { ...(data as Record<string, unknown>) };
  // `character_version: 1.0` is a YAML number; keep exactly what was written ("1.0", not 1) instead of refusing it.
  if (typeof record.character_version === 'number') {
    record.character_version = sourceTextOf(document, text, ['character_version']) ?? String(record.character_version);
  }

  const parsed = characterFileSchema.safeParse(record);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => describeIssue(issue, document));
    problems.sort((a, b) => a.offset - b.offset);
    const first = problems[0]!;
    throw new CharacterError(shown, first.field, first.problem, { cause: parsed.error });
  }
  return toCharacter(parsed.data, source);
}

const unquotedMacroHint = 'text that starts with {{ must be in quotes, e.g. greeting: "{{user}}, welcome back"';

function findCollectionKey(document: Document): YamlNode | null {
  let found: YamlNode | null = null;
  visit(document, {
    Pair(_key, pair, path) {
      if (isCollection(pair.key)) {
        // Point at the whole value (`{{user}}` starts at the outer brace), not at the inner `{user}`.
        const parent = path.at(-1);
        found = isCollection(parent) ? parent : pair.key;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// The schema of the file. Each leaf carries its own "expected ..." wording, so errors read the same everywhere.

function expecting(expected: string) {
  const wantsText = !/\bnumber\b/.test(expected);
  return (issue: { input?: unknown }) =>
    issue.input === undefined
      ? `expected ${expected}, but the field is missing`
      : `expected ${expected}, got ${describeValue(issue.input, wantsText)}`;
}

const requiredText = (what = 'text') => z.string({ error: expecting(what) }).trim().min(1, { error: expecting(`non-empty ${what}`) });
const optionalText = () => z.string({ error: expecting('text') }).nullish();
const textList = (what: string) =>
  z.array(requiredText(), { error: expecting(`a list of ${what}`) }).nullish();

interface NumberLimits {
  readonly integer?: boolean;
  readonly min?: number;
  readonly greaterThan?: number;
  readonly max?: number;
}

function numberIn(expected: string, limits: NumberLimits) {
  const error = expecting(expected);
  let number = z.number({ error });
  if (limits.integer) number = number.int({ error });
  if (limits.min !== undefined) number = number.min(limits.min, { error });
  if (limits.greaterThan !== undefined) number = number.gt(limits.greaterThan, { error });
  if (limits.max !== undefined) number = number.max(limits.max, { error });
  return number.nullish();
}

const turnText = () => z.string({ error: expecting('text') }).trim().min(1, { error: expecting('non-empty text') }).optional();

const dialogueTurnSchema = z
  .strictObject(
    {
      user: turnText(),
      char: turnText(),
    },
    { error: expecting('a turn written as "user: text" or "char: text"') },
  )
  .refine((turn) => (turn.user === undefined) !== (turn.char === undefined), {
    error: 'expected exactly one of "user: text" or "char: text" in each turn',
  });

const modelSchema = z
  .strictObject(
    {
      temperature: numberIn('a number from 0 to 2', { min: 0, max: 2 }),
      top_p: numberIn('a number greater than 0 and at most 1', { greaterThan: 0, max: 1 }),
      max_reply_tokens: numberIn('a whole number of tokens, at least 1', { integer: true, min: 1 }),
      context_window: numberIn('a whole number of tokens, at least 512', { integer: true, min: 512 }),
    },
    { error: expecting('a mapping (temperature, top_p, max_reply_tokens, context_window)') },
  )
  .refine(
    (model) => model.max_reply_tokens == null || model.context_window == null || model.max_reply_tokens < model.context_window,
    { error: 'expected max_reply_tokens to be smaller than context_window', path: ['max_reply_tokens'] },
  )
  .nullish();

/** The snake_case file format. Unknown keys are refused (they are usually typos) except inside `extensions`. */
export const characterFileSchema = z.strictObject(
  {
    name: requiredText(),
    aliases: textList('names'),
    language: z.enum(['zh-CN', 'en-US'], { error: expecting(`'zh-CN' or 'en-US'`) }),
    description: requiredText(),
    personality: optionalText(),
    scenario: optionalText(),
    world: z
      .string({ error: expecting('a world id (lowercase letters, digits, "_" or "-")') })
      .regex(idPattern, { error: expecting('a world id (lowercase letters, digits, "_" or "-")') })
      .nullish(),
    greeting: optionalText(),
    alternate_greetings: textList('greetings'),
    example_dialogues: z
      .array(z.array(dialogueTurnSchema, { error: expecting('a dialogue: a list of turns') }).min(1, { error: expecting('a dialogue with at least one turn') }), {
        error: expecting('a list of dialogues, each a list of turns'),
      })
      .nullish(),
    system_prompt: optionalText(),
    post_history_instructions: optionalText(),
    tags: textList('tags'),
    creator: optionalText(),
    character_version: optionalText(),
    model: modelSchema,
    script: z
      .strictObject(
        {
          budget_tokens: numberIn('a whole number of tokens, at least 1', { integer: true, min: 1 }),
          min_chunks: numberIn('a whole number, at least 0', { integer: true, min: 0 }),
        },
        { error: expecting('a mapping (budget_tokens, min_chunks)') },
      )
      .nullish(),
    extensions: z.record(z.string(), z.unknown(), { error: expecting('a mapping of extension data') }).nullish(),
  },
  { error: expecting('a mapping of fields') },
);

export type CharacterFile = z.infer<typeof characterFileSchema>;

function toCharacter(card: CharacterFile, source: CharacterSource): Character {
  const clean = (text: string | null | undefined) => text?.trim() ?? '';
  const model: { -readonly [K in keyof CharacterModelSettings]: CharacterModelSettings[K] } = {};
  if (card.model?.temperature != null) model.temperature = card.model.temperature;
  if (card.model?.top_p != null) model.topP = card.model.top_p;
  if (card.model?.max_reply_tokens != null) model.maxReplyTokens = card.model.max_reply_tokens;
  if (card.model?.context_window != null) model.contextWindow = card.model.context_window;
  const greeting = clean(card.greeting);
  return {
    id: source.id,
    name: card.name,
    aliases: unique((card.aliases ?? []).filter((alias) => alias !== card.name)),
    language: card.language,
    description: card.description,
    personality: clean(card.personality),
    scenario: clean(card.scenario),
    worldId: card.world ?? null,
    greeting: greeting === '' ? null : greeting,
    alternateGreetings: card.alternate_greetings ?? [],
    exampleDialogues: (card.example_dialogues ?? []).map((dialogue) =>
      dialogue.map((turn): DialogueTurn => (turn.user !== undefined ? { speaker: 'user', text: turn.user } : { speaker: 'char', text: turn.char ?? '' })),
    ),
    systemPrompt: clean(card.system_prompt),
    postHistoryInstructions: clean(card.post_history_instructions),
    tags: unique(card.tags ?? []),
    creator: clean(card.creator),
    characterVersion: clean(card.character_version),
    model,
    extensions: card.extensions ?? {},
    lorebook: null,
    script: null,
    scriptSettings: {
      budgetTokens: card.script?.budget_tokens ?? defaultScriptSettings.budgetTokens,
      minChunks: card.script?.min_chunks ?? defaultScriptSettings.minChunks,
    },
    directory: source.directory,
    file: source.file,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Turning zod issues into "field: expected ..., got ..." with the field named the way it is written in the file.

interface Problem {
  readonly field: string;
  readonly problem: string;
  /** where in the file, so the first problem reported is the one nearest the top */
  readonly offset: number;
}

const knownKeys: Record<string, readonly string[]> = {
  '': Object.keys(characterFileSchema.shape),
  model: ['temperature', 'top_p', 'max_reply_tokens', 'context_window'],
  script: ['budget_tokens', 'min_chunks'],
  turn: ['user', 'char'],
};

function describeIssue(issue: z.core.$ZodIssue, document: Document): Problem[] {
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const section = path.length === 0 ? '' : path[0] === 'model' || path[0] === 'script' ? path[0] : 'turn';
    const known = knownKeys[section]!;
    return issue.keys.map((key) => {
      const suggestion = closest(key, known);
      const hint = suggestion
        ? `; did you mean "${suggestion}"?`
        : path.length === 0
          ? '; put your own data under "extensions"'
          : `; expected one of ${known.map((name) => `"${name}"`).join(', ')}`;
      return { field: formatPath([...path, key]), problem: `unknown field${hint}`, offset: offsetOf(document, [...path, key], true) };
    });
  }
  return [{ field: path.length === 0 ? '(top level)' : formatPath(path), problem: issue.message, offset: offsetOf(document, path, false) }];
}

/** `example_dialogues[0][1].user`, `model.top_p`. */
function formatPath(path: readonly (string | number)[]): string {
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('');
}

/** Offset of a key or value in the YAML source; missing fields sort after every present one. */
function offsetOf(document: Document, path: readonly (string | number)[], wantKey: boolean): number {
  let node: unknown = document.contents;
  let keyNode: YamlNode | null = null;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === segment);
      if (!pair) return Number.MAX_SAFE_INTEGER;
      keyNode = pair.key as YamlNode;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      keyNode = null;
      node = node.items[segment];
    } else {
      return Number.MAX_SAFE_INTEGER;
    }
  }
  const target = wantKey && keyNode ? keyNode : (node as YamlNode | null);
  return target?.range?.[0] ?? keyNode?.range?.[0] ?? Number.MAX_SAFE_INTEGER;
}

function sourceTextOf(document: Document, text: string, path: readonly string[]): string | null {
  const node = document.getIn(path, true);
  return isScalar(node) && node.range ? text.slice(node.range[0], node.range[1]).trim() : null;
}

/** How a wrong value is named back to the person who wrote it. */
function describeValue(value: unknown, wantsText = true): string {
  // YAML reads `name: 1984`, `greeting: yes`-like scalars and dates as non-text; quoting them is the usual fix.
  const quoteHint = wantsText ? ' (put it in quotes if it is meant as text)' : '';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return value.trim() === '' ? 'empty text' : `'${truncate(value.trim(), 40)}'`;
  if (typeof value === 'number') return `the number ${value}${quoteHint}`;
  if (typeof value === 'boolean') return `${value}${quoteHint}`;
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (value instanceof Date) return `a date${quoteHint}`;
  if (typeof value === 'object') return 'a mapping (key: value pairs)';
  return typeof value;
}

/** The known key a typo most likely meant, if one is close enough. */
function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase().replaceAll('-', '_'), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(best.length / 4)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

// ---------------------------------------------------------------------------------------------------------------
// Files.

function findCharacterFile(folder: string): { file: string; both: boolean } | null {
  const present = characterFileNames.map((name) => join(folder, name)).filter(isFile);
  return present[0] === undefined ? null : { file: present[0], both: present.length > 1 };
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
