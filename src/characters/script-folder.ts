/**
 * A character's `script/` folder, ChatHaruhi's layout: `script/system_prompt.txt` (optional) and `script/texts/*.txt`,
 * one story excerpt a file. Loading only checks it and records where it is and a hash of it; reading the excerpts
 * into scenes is the scene retriever's work.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CharacterError } from '../core/errors.js';
import type { CharacterScript } from './character.js';
import { decodeUtf8, displayPath, isDirectory, isFile, mebibyte, readLimitedFile, systemReason } from './text-files.js';

export const scriptFolderName = 'script';
export const maxScriptFileBytes = 5 * mebibyte;
/** More excerpts than this is a pasted corpus, not a character's script. */
export const maxScriptFiles = 20_000;

const naturalOrder = new Intl.Collator('en', { numeric: true });

/** Names of the .txt files in `texts`, in natural order (text_2 before text_10). */
export function listScriptTextFiles(texts: string): string[] {
  let names: string[];
  try {
    names = readdirSync(texts);
  } catch (error) {
    throw new CharacterError(displayPath(texts), null, `cannot read the folder (${systemReason(error)})`, { cause: error });
  }
  return names
    .filter((name) => !name.startsWith('.') && name.toLowerCase().endsWith('.txt') && isFile(join(texts, name)))
    .sort(naturalOrder.compare);
}

/** The script in `<characterDirectory>/script/`, or null when there is no such folder. */
export function readScriptFolder(characterDirectory: string): CharacterScript | null {
  const directory = join(characterDirectory, scriptFolderName);
  if (!isDirectory(directory)) return null;
  const textsDirectory = join(directory, 'texts');
  if (!isDirectory(textsDirectory)) {
    throw new CharacterError(displayPath(directory), null, 'a script folder needs a texts/ folder holding the excerpts (*.txt)');
  }
  const hash = createHash('sha256');
  const add = (name: string, bytes: Buffer) => {
    // Name and length first, so that moving text from one file to the next changes the hash.
    hash.update(`${name}\u0000${bytes.length}\u0000`);
    hash.update(bytes);
  };

  const promptPath = join(directory, 'system_prompt.txt');
  const systemPromptFile = isFile(promptPath) ? promptPath : null;
  if (systemPromptFile) {
    const bytes = readLimitedFile(systemPromptFile, maxScriptFileBytes, 'a script file');
    decodeUtf8(bytes, displayPath(systemPromptFile));
    add('system_prompt.txt', bytes);
  }

  const names = listScriptTextFiles(textsDirectory);
  if (names.length > maxScriptFiles) {
    throw new CharacterError(displayPath(textsDirectory), null, `${names.length} files; a script may have at most ${maxScriptFiles}`);
  }
  const chunkFiles: string[] = [];
  for (const name of names) {
    const path = join(textsDirectory, name);
    const bytes = readLimitedFile(path, maxScriptFileBytes, 'a script file');
    const text = decodeUtf8(bytes, displayPath(path));
    add(`texts/${name}`, bytes);
    if (text.replace(/^\uFEFF/, '').trim() !== '') chunkFiles.push(name);
  }
  return { directory, systemPromptFile, textsDirectory, chunkFiles, chunkCount: chunkFiles.length, hash: hash.digest('hex') };
}
