/**
 * `omoide character import <path>`: detects the format, plans the new character folder, writes it into a hidden
 * staging folder inside the characters folder, loads it back to prove it is valid, and only then renames it into
 * place. A failure at any step leaves the characters folder as it was.
 */
import { closeSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CharacterError, InputError } from '../../core/errors.js';
import type { Character } from '../character.js';
import { characterFileNames, loadCharacter } from '../load-characters.js';
import { displayPath, isDirectory, isFile, systemReason } from '../text-files.js';
import { worldsFolderName } from '../world.js';
import { planJsonCard, planPngCard } from './from-card.js';
import { planChatHaruhiFolder, planChatHaruhiJsonl } from './from-chatharuhi.js';
import type { ImportFormat, ImportPlan } from './import-plan.js';
import { slugifyId } from './import-plan.js';

export const characterIdPattern = /^[a-z0-9_-]+$/;

export interface ImportOptions {
  /** Where the new `<id>/` folder goes (config charactersDir). */
  readonly charactersDir: string;
  /** Default: the slugified name, else the source's file or folder name. */
  readonly id?: string;
  /** ChatHaruhi only: the character's name (default: from the system prompt, else the folder or file name). */
  readonly name?: string;
  /** Replace a character with the same id. */
  readonly force?: boolean;
  /** Called while files are written (done of total), e.g. to draw a progress bar. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ImportResult {
  readonly id: string;
  readonly format: ImportFormat;
  readonly directory: string;
  readonly character: Character;
  readonly replaced: boolean;
  readonly warnings: readonly string[];
}

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function startsWithPngSignature(path: string): boolean {
  const descriptor = openSync(path, 'r');
  try {
    const head = Buffer.alloc(pngSignature.length);
    const read = readSync(descriptor, head, 0, head.length, 0);
    return read === head.length && head.equals(pngSignature);
  } finally {
    closeSync(descriptor);
  }
}

/** Which importer reads `path`; throws CharacterError naming the path when none does. */
export function detectImportFormat(path: string): ImportFormat {
  const shown = displayPath(path);
  if (isDirectory(path)) {
    if (characterFileNames.some((name) => isFile(join(path, name)))) return 'omoide-folder';
    if (isFile(join(path, 'system_prompt.txt')) || isDirectory(join(path, 'texts'))) return 'chatharuhi-folder';
    throw new CharacterError(
      shown,
      null,
      'not a character folder: expected character.yaml (an omoide character) or system_prompt.txt and texts/ (a ChatHaruhi character)',
    );
  }
  if (!isFile(path)) throw new CharacterError(shown, null, 'no such file or folder');
  const extension = extname(path).toLowerCase();
  if (startsWithPngSignature(path) || extension === '.png') return 'card-png';
  if (extension === '.jsonl') return 'chatharuhi-jsonl';
  if (extension === '.json') return 'card-json';
  throw new CharacterError(
    shown,
    null,
    'unknown format: expected a character card (.png or .json), a ChatHaruhi .jsonl, a ChatHaruhi folder or an omoide character folder',
  );
}

function plan(format: ImportFormat, source: string, options: ImportOptions): ImportPlan {
  const chatHaruhi = options.name !== undefined ? { name: options.name } : {};
  switch (format) {
    case 'card-png':
      return planPngCard(source);
    case 'card-json':
      return planJsonCard(source);
    case 'chatharuhi-folder':
      return planChatHaruhiFolder(source, chatHaruhi);
    case 'chatharuhi-jsonl':
      return planChatHaruhiJsonl(source, chatHaruhi);
    case 'omoide-folder':
      // Copied whole and checked after the copy, under the new id.
      return { format, name: null, idHints: [basename(source)], files: [{ path: '', copyFrom: source }], warnings: [] };
  }
}

function chooseId(plan: ImportPlan, requested: string | undefined): string {
  if (requested !== undefined) {
    if (!characterIdPattern.test(requested) || requested === worldsFolderName) {
      throw new InputError(`--id "${requested}" is not a valid character id: use only lowercase letters a-z, digits, "_" and "-"`);
    }
    return requested;
  }
  for (const hint of plan.idHints) {
    const id = plan.format === 'omoide-folder' && characterIdPattern.test(hint) ? hint : slugifyId(hint);
    if (id !== '' && id !== worldsFolderName) return id;
  }
  throw new InputError(`cannot make an id from the name "${plan.name ?? ''}"; give one with --id`);
}

/** Imports one character; see ImportOptions. Throws CharacterError for bad input, InputError for a taken id. */
export function importCharacter(sourcePath: string, options: ImportOptions): ImportResult {
  const source = resolve(sourcePath);
  const charactersDir = resolve(options.charactersDir);
  const format = detectImportFormat(source);
  const planned = plan(format, source, options);
  const id = chooseId(planned, options.id);
  const target = join(charactersDir, id);
  const exists = isDirectory(target) || isFile(target);
  if (exists && !options.force) {
    throw new InputError(`a character "${id}" already exists (${displayPath(target)}); pass --force to replace it, or --id to choose another id`);
  }

  mkdirSync(charactersDir, { recursive: true });
  // Inside the characters folder (same file system, so the final rename is atomic); hidden, so never loaded.
  const staging = mkdtempSync(join(charactersDir, '.import-'));
  try {
    const staged = join(staging, id);
    mkdirSync(staged);
    writePlannedFiles(planned, staged, options.onProgress);
    let character: Character;
    try {
      character = loadCharacter(staged);
    } catch (error) {
      throw relocateError(error, staged, format === 'omoide-folder' ? source : null);
    }
    let replaced = false;
    const previous = join(staging, '.replaced');
    if (isDirectory(target) || isFile(target)) {
      renameSync(target, previous);
      replaced = true;
    }
    try {
      renameSync(staged, target);
    } catch (error) {
      if (replaced) renameSync(previous, target);
      throw new CharacterError(displayPath(target), null, `cannot move the imported character into place (${systemReason(error)})`, { cause: error });
    }
    character = loadCharacter(target);
    return { id, format, directory: target, character, replaced, warnings: planned.warnings };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function writePlannedFiles(planned: ImportPlan, directory: string, onProgress?: (done: number, total: number) => void): void {
  const total = planned.files.length;
  planned.files.forEach((file, index) => {
    const destination = join(directory, file.path);
    if ('copyFrom' in file) {
      if (file.path === '') cpSync(file.copyFrom, directory, { recursive: true });
      else {
        mkdirSync(dirname(destination), { recursive: true });
        copyFileSync(file.copyFrom, destination);
      }
    } else {
      mkdirSync(dirname(destination), { recursive: true });
      writeFileSync(destination, file.content);
    }
    onProgress?.(index + 1, total);
  });
}

/**
 * A problem found while checking the staged copy names the staging folder, which is gone by the time anyone reads
 * it: name the source file instead (an omoide folder), or say the import produced it (a bug in an importer).
 */
function relocateError(error: unknown, staged: string, source: string | null): unknown {
  if (!(error instanceof CharacterError)) return error;
  const stagedShown = displayPath(staged);
  const file = error.file.startsWith(stagedShown) ? error.file.slice(stagedShown.length) : error.file;
  if (source !== null) return new CharacterError(`${displayPath(source)}${file}`, error.field, error.problem, { cause: error });
  return new CharacterError(`(imported)${file}`, error.field, `the imported character does not load: ${error.problem}`, { cause: error });
}
