/**
 * `omoide character export <id> --format card-v2|card-v3|png|folder --out <path>`. A card is built from the loaded
 * character and its lorebook; when the folder keeps the card it was imported from (card.json), that card's fields
 * omoide has no place for (creator notes, assets, nickname, dates, ...) and its extensions are merged back, so an
 * imported card comes out as it went in. `png` embeds the card in avatar.png when the folder has one.
 */
import { cpSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CharacterError, InputError } from '../../core/errors.js';
import type { CardCharacterFields } from '../card/card-mapping.js';
import { characterToCard } from '../card/card-mapping.js';
import type { CardData } from '../card/card-types.js';
import { toCardV2, toCardV3 } from '../card/export-card.js';
import { parseCardJson } from '../card/parse-card.js';
import { writeCardToPng } from '../card/png.js';
import type { Character } from '../character.js';
import { loadCharacter } from '../load-characters.js';
import { displayPath, isDirectory, isFile, mebibyte, readLimitedFile, readTextFile, systemReason } from '../text-files.js';

export const exportFormats = ['card-v2', 'card-v3', 'png', 'folder'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export interface ExportOptions {
  readonly charactersDir: string;
  readonly id: string;
  readonly format: ExportFormat;
  readonly out: string;
  /** Overwrite an existing file or folder at `out`. */
  readonly force?: boolean;
}

export interface ExportResult {
  readonly out: string;
  readonly format: ExportFormat;
  readonly character: Character;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The card kept beside an imported character (card.json), or null. */
export function readKeptCard(character: Character): CardData | null {
  const path = join(character.directory, 'card.json');
  if (!isFile(path)) return null;
  const shown = displayPath(path);
  return parseCardJson(readTextFile(path, 5 * mebibyte, 'a JSON card', shown), shown);
}

/** The card for a character: its own fields and lorebook, over what card.json kept of the original. */
export function characterToExportCard(character: Character): CardData {
  const fields: CardCharacterFields = {
    name: character.name,
    aliases: character.aliases,
    language: character.language,
    description: character.description,
    personality: character.personality,
    scenario: character.scenario,
    greeting: character.greeting,
    alternateGreetings: character.alternateGreetings,
    exampleDialogues: character.exampleDialogues,
    systemPrompt: character.systemPrompt,
    postHistoryInstructions: character.postHistoryInstructions,
    tags: character.tags,
    creator: character.creator,
    characterVersion: character.characterVersion,
    extensions: character.extensions,
  };
  const kept = readKeptCard(character);
  const card = characterToCard(fields, { lorebook: character.lorebook, ...(kept ? { creatorNotes: kept.creatorNotes } : {}) });
  if (!kept) return card;
  const keptOmoide = isRecord(kept.extensions.omoide) ? kept.extensions.omoide : {};
  const ownOmoide = isRecord(card.extensions.omoide) ? card.extensions.omoide : {};
  return {
    ...card,
    groupOnlyGreetings: [...kept.groupOnlyGreetings],
    // The nickname stays only while it is still one of the character's names.
    nickname: kept.nickname !== null && character.aliases.includes(kept.nickname) ? kept.nickname : null,
    assets: kept.assets,
    creatorNotesMultilingual: kept.creatorNotesMultilingual,
    source: kept.source,
    creationDate: kept.creationDate,
    modificationDate: kept.modificationDate,
    // Other tools' data from the original card, under what the character (maybe edited) has now.
    extensions: { ...kept.extensions, ...card.extensions, omoide: { ...keptOmoide, ...ownOmoide } },
  };
}

export function exportCharacter(options: ExportOptions): ExportResult {
  const directory = join(resolve(options.charactersDir), options.id);
  if (!isDirectory(directory)) throw new InputError(`there is no character "${options.id}" in ${displayPath(options.charactersDir)}`);
  const character = loadCharacter(directory);
  const out = resolve(options.out);
  if ((isFile(out) || isDirectory(out)) && !options.force) {
    throw new InputError(`${displayPath(out)} already exists; pass --force to overwrite it`);
  }
  // Written beside the destination and renamed over it, so a failure never leaves half a file.
  const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  try {
    if (options.format === 'folder') {
      cpSync(directory, partial, { recursive: true });
    } else {
      writeFileSync(partial, encode(character, options.format));
    }
    if (options.force) rmSync(out, { recursive: true, force: true });
    renameSync(partial, out);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (error instanceof CharacterError || error instanceof InputError) throw error;
    throw new CharacterError(displayPath(out), null, `cannot write the export (${systemReason(error)})`, { cause: error });
  }
  return { out, format: options.format, character };
}

function encode(character: Character, format: Exclude<ExportFormat, 'folder'>): string | Buffer {
  const card = characterToExportCard(character);
  if (format === 'card-v2') return `${JSON.stringify(toCardV2(card), null, 2)}\n`;
  if (format === 'card-v3') return `${JSON.stringify(toCardV3(card), null, 2)}\n`;
  const avatarPath = join(character.directory, 'avatar.png');
  const shown = displayPath(avatarPath);
  const avatar = isFile(avatarPath) ? readLimitedFile(avatarPath, 20 * mebibyte, 'a PNG card', shown) : null;
  return writeCardToPng(avatar, card, shown);
}
