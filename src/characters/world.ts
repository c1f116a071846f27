/**
 * Worlds (ai_chat_with_memory's 世界观): a setting shared by several characters, one YAML file each in the characters
 * folder's `_worlds/` (`<charactersDir>/_worlds/<id>.yaml`). A character names its world with `world: <id>`.
 * The format is documented in docs/characters.md.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { CharacterError } from '../core/errors.js';
import { describeYamlProblem, parseYamlDocument, yamlValue } from '../util/yaml-text.js';
import type { Lorebook } from './lorebook.js';
import { lorebookFromValue } from './lorebook-file.js';
import { displayPath, isDirectory, mebibyte, readTextFile, systemReason } from './text-files.js';

export const worldsFolderName = '_worlds';
export const worldFileExtensions = ['.yaml', '.yml'] as const;
export const maxWorldFileBytes = 5 * mebibyte;

const idPattern = /^[a-z0-9_-]+$/;

export interface WorldItem {
  readonly name: string;
  readonly description: string;
}

export interface World {
  /** The file name without its extension. */
  readonly id: string;
  readonly name: string;
  /** What the world is like: era, place, rules. Always shown first. */
  readonly setting: string;
  readonly places: readonly WorldItem[];
  readonly people: readonly WorldItem[];
  /** Entries that enter the prompt when their keys are said, for every character of this world. */
  readonly lorebook: Lorebook | null;
  readonly extensions: Readonly<Record<string, unknown>>;
  readonly file: string;
}

const expecting = (what: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? `expected ${what}, but the field is missing` : `expected ${what}, got ${describe(issue.input)}`;

const text = () => z.string({ error: expecting('text') }).trim().min(1, { error: expecting('non-empty text') });

const itemSchema = z.strictObject(
  { name: text(), description: text() },
  { error: expecting('a mapping with name and description') },
);

const worldSchema = z.strictObject(
  {
    name: text(),
    setting: text(),
    places: z.array(itemSchema, { error: expecting('a list of places, each with name and description') }).nullish(),
    people: z.array(itemSchema, { error: expecting('a list of people, each with name and description') }).nullish(),
    lorebook: z.unknown().optional(),
    extensions: z.record(z.string(), z.unknown(), { error: expecting('a mapping of extension data') }).nullish(),
  },
  { error: expecting('a mapping of fields (name, setting, places, people, lorebook)') },
);

function describe(value: unknown): string {
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return value.trim() === '' ? 'empty text' : `'${value.trim().slice(0, 40)}'`;
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping (key: value pairs)';
  return `${typeof value === 'number' ? 'the number ' : ''}${String(value)}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? String(segment) : `.${String(segment)}`))
    .join('');
}

/** Parses a world file's text; `file` names it in errors. Throws CharacterError. */
export function parseWorldYaml(source: string, id: string, file: string): World {
  const yaml = parseYamlDocument(source.replace(/^\uFEFF/, ''));
  if ('problem' in yaml) throw new CharacterError(file, null, describeYamlProblem(yaml.problem));
  const read = yamlValue(yaml.document);
  if ('problem' in read) throw new CharacterError(file, null, read.problem);
  const data = read.value;
  if (data === null || data === undefined) {
    throw new CharacterError(file, null, 'the file is empty; expected a mapping of fields (name, setting, places, people, lorebook)');
  }
  const parsed = worldSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const field = formatPath([...issue.path, issue.keys[0]!]);
      throw new CharacterError(file, field, 'unknown field; expected one of name, setting, places, people, lorebook, extensions');
    }
    throw new CharacterError(file, issue.path.length > 0 ? formatPath(issue.path) : null, issue.message);
  }
  const world = parsed.data;
  return {
    id,
    name: world.name,
    setting: world.setting,
    places: world.places ?? [],
    people: world.people ?? [],
    lorebook: world.lorebook === undefined || world.lorebook === null ? null : lorebookFromValue(world.lorebook, file, 'lorebook'),
    extensions: world.extensions ?? {},
    file,
  };
}

/** Reads one world file (`<id>.yaml`). */
export function loadWorld(path: string): World {
  const shown = displayPath(path);
  const id = basename(path).replace(/\.ya?ml$/i, '');
  if (!idPattern.test(id)) {
    throw new CharacterError(shown, null, `the file name "${id}" is not a valid world id: use only lowercase letters a-z, digits, "_" and "-"`);
  }
  return parseWorldYaml(readTextFile(path, maxWorldFileBytes, 'a world file', shown), id, shown);
}

/** Every world in `directory` (the `_worlds` folder); a missing folder means no worlds. One bad file never hides the others. */
export function loadWorlds(directory: string): { worlds: Map<string, World>; errors: CharacterError[] } {
  const worlds = new Map<string, World>();
  const errors: CharacterError[] = [];
  if (!isDirectory(directory)) return { worlds, errors };
  let names: string[];
  try {
    names = readdirSync(directory).sort();
  } catch (error) {
    errors.push(new CharacterError(displayPath(directory), null, `cannot read the worlds folder (${systemReason(error)})`, { cause: error }));
    return { worlds, errors };
  }
  for (const name of names) {
    if (name.startsWith('.') || !worldFileExtensions.some((extension) => name.toLowerCase().endsWith(extension))) continue;
    try {
      const world = loadWorld(join(directory, name));
      if (worlds.has(world.id)) {
        throw new CharacterError(displayPath(join(directory, name)), null, `world "${world.id}" is defined twice (.yaml and .yml); keep one`);
      }
      worlds.set(world.id, world);
    } catch (error) {
      if (!(error instanceof CharacterError)) throw error;
      errors.push(error);
    }
  }
  return { worlds, errors };
}
