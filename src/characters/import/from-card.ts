/**
 * Character cards (V1/V2/V3) from a PNG's tEXt chunk (ccv3 preferred over chara) or a JSON file. The new folder gets
 * character.yaml, lorebook.json when the card has a character_book, the card's JSON exactly as it was (card.json) and,
 * for a PNG, the image (avatar.png), so that exporting it again loses nothing.
 */
import { basename, extname } from 'node:path';
import { CharacterError } from '../../core/errors.js';
import { cardToCharacterFields } from '../card/card-mapping.js';
import type { CardData } from '../card/card-types.js';
import { parseCardJson } from '../card/parse-card.js';
import { readPngTextChunks } from '../card/png.js';
import { displayPath, mebibyte, readLimitedFile, readTextFile } from '../text-files.js';
import type { CharacterYamlFields } from './character-yaml.js';
import { characterToYaml } from './character-yaml.js';
import type { ImportPlan, PlannedFile } from './import-plan.js';

export const maxPngCardBytes = 20 * mebibyte;
export const maxJsonCardBytes = 5 * mebibyte;

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** The card JSON text inside a PNG (ccv3 wins over chara, keywords compared case-insensitively). */
export function cardJsonFromPng(bytes: Uint8Array, shown: string): { json: string; where: string } {
  const texts = readPngTextChunks(bytes, shown);
  const chunk =
    texts.find((text) => text.keyword.toLowerCase() === 'ccv3') ?? texts.find((text) => text.keyword.toLowerCase() === 'chara');
  if (!chunk) throw new CharacterError(shown, null, 'PNG has no character card (no "chara" or "ccv3" tEXt chunk)');
  const where = `${shown} (chunk ${chunk.keyword})`;
  const compact = chunk.text.replace(/\s+/g, '');
  if (compact === '' || !base64Pattern.test(compact) || compact.length % 4 === 1) {
    throw new CharacterError(where, null, 'the card data is not valid base64');
  }
  try {
    return { json: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64')), where };
  } catch (error) {
    throw new CharacterError(where, null, 'the card data is not UTF-8 text', { cause: error });
  }
}

/** Card → the fields of character.yaml. omoide's own extension is consumed (language, aliases live in the YAML). */
export function cardToYamlFields(card: CardData): { fields: CharacterYamlFields; warnings: string[] } {
  const mapped = cardToCharacterFields(card);
  const warnings: string[] = [];
  const extensions: Record<string, unknown> = { ...mapped.extensions };
  const omoide = extensions.omoide;
  if (typeof omoide === 'object' && omoide !== null && !Array.isArray(omoide)) {
    const { language: _language, aliases: _aliases, ...rest } = omoide as Record<string, unknown>;
    if (Object.keys(rest).length > 0) extensions.omoide = rest;
    else delete extensions.omoide;
  }
  let description = mapped.description;
  if (description.trim() === '') {
    // omoide needs a persona; a card that only has a personality or scenario still says who the character is.
    description = [mapped.personality, mapped.scenario].find((text) => text.trim() !== '') ?? `{{char}} (${mapped.name})`;
    warnings.push('the card has no description; used its personality or scenario instead');
  }
  return { fields: { ...mapped, description, extensions }, warnings };
}

function planFromCard(card: CardData, cardJson: string, format: ImportPlan['format'], source: string, extra: PlannedFile[]): ImportPlan {
  const { fields, warnings } = cardToYamlFields(card);
  const files: PlannedFile[] = [
    { path: 'character.yaml', content: characterToYaml(fields, `Imported by omoide from ${basename(source)} (${card.spec}); the original card is card.json.`) },
    { path: 'card.json', content: cardJson },
    ...extra,
  ];
  if (card.characterBook) files.push({ path: 'lorebook.json', content: `${JSON.stringify(card.characterBook, null, 2)}\n` });
  return {
    format,
    name: fields.name,
    idHints: [fields.name, basename(source, extname(source))],
    files,
    warnings,
  };
}

export function planPngCard(path: string): ImportPlan {
  const shown = displayPath(path);
  const bytes = readLimitedFile(path, maxPngCardBytes, 'a PNG card', shown);
  const { json, where } = cardJsonFromPng(bytes, shown);
  const card = parseCardJson(json, where);
  return planFromCard(card, json, 'card-png', path, [{ path: 'avatar.png', content: bytes }]);
}

export function planJsonCard(path: string): ImportPlan {
  const shown = displayPath(path);
  const json = readTextFile(path, maxJsonCardBytes, 'a JSON card', shown);
  const card = parseCardJson(json, shown);
  return planFromCard(card, json, 'card-json', path, []);
}
