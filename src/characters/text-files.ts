/**
 * Reading the hand-edited files of a character folder (cards, lorebooks, worlds, script chunks): a size limit first,
 * then strict UTF-8, every failure a CharacterError naming the file as the person sees it.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { CharacterError } from '../core/errors.js';
import { nestingProblem } from '../util/nesting.js';

export const mebibyte = 1024 * 1024;

/** Relative to the working folder when the file is inside it (`characters/bad/character.yaml`), else absolute. */
export function displayPath(path: string): string {
  const absolute = resolve(path);
  const fromHere = relative(process.cwd(), absolute);
  return fromHere !== '' && !fromHere.startsWith('..') && !isAbsolute(fromHere) ? fromHere : absolute;
}

export function systemReason(error: unknown): string {
  if (error instanceof Error) return 'code' in error && typeof error.code === 'string' ? error.code : error.message;
  return String(error);
}

export function formatBytes(bytes: number): string {
  if (bytes >= mebibyte) return bytes % mebibyte === 0 ? `${bytes / mebibyte} MiB` : `${(bytes / mebibyte).toFixed(1)} MiB`;
  return `${Math.ceil(bytes / 1024)} KiB`;
}

export function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
}

export function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

/** Reads a file's bytes after checking its size; `kind` completes "a <kind> may be at most ..." in the error. */
export function readLimitedFile(path: string, maxBytes: number, kind: string, shown = displayPath(path)): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new CharacterError(shown, null, `cannot read the file (${systemReason(error)})`, { cause: error });
  }
  if (size > maxBytes) {
    throw new CharacterError(shown, null, `the file is ${formatBytes(size)}; ${kind} may be at most ${formatBytes(maxBytes)}`);
  }
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CharacterError(shown, null, `cannot read the file (${systemReason(error)})`, { cause: error });
  }
}

/** Strict UTF-8 (a byte-order mark is dropped); GBK or Latin-1 text is refused with the line of the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, shown: string): string {
  try {
    // fatal: a GBK or Latin-1 file must be refused, not silently turned into replacement characters.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    const line = firstInvalidUtf8Line(bytes);
    throw new CharacterError(
      shown,
      null,
      `the file is not valid UTF-8 text (first bad byte on line ${line}); save it as UTF-8 (files saved as GBK or Latin-1 are refused)`,
      { cause: error },
    );
  }
}

/** readLimitedFile + decodeUtf8. */
export function readTextFile(path: string, maxBytes: number, kind: string, shown = displayPath(path)): string {
  return decodeUtf8(readLimitedFile(path, maxBytes, kind, shown), shown);
}

/** Refuses parsed JSON that nests deeper than maxNesting: copying it or writing it out again would overflow the stack. */
export function checkNesting(value: unknown, shown: string): void {
  const problem = nestingProblem(value);
  if (problem !== null) throw new CharacterError(shown, null, problem);
}

function firstInvalidUtf8Line(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let index = 0; index <= bytes.length; index++) {
    if (index === bytes.length || bytes[index] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, index));
      } catch {
        // This line holds the first bad byte: that is all we wanted to know.
        return line;
      }
      line++;
      start = index + 1;
    }
  }
  return line;
}
