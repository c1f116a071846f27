/**
 * Between a card and omoide's Character. A card has no language or aliases of its own: omoide keeps them under
 * `extensions.omoide`, and guesses the language from the text of a card that came from elsewhere.
 */
import type { Character, CharacterLanguage } from '../character.js';
import type { Lorebook } from '../lorebook.js';
import type { CardData } from './card-types.js';
import { joinExampleMessages, splitExampleMessages } from './parse-card.js';

/** The Character fields a card can fill; id, world, model settings and file locations come from the importer. */
export type CardCharacterFields = Pick<
  Character,
  | 'name'
  | 'aliases'
  | 'language'
  | 'description'
  | 'personality'
  | 'scenario'
  | 'greeting'
  | 'alternateGreetings'
  | 'exampleDialogues'
  | 'systemPrompt'
  | 'postHistoryInstructions'
  | 'tags'
  | 'creator'
  | 'characterVersion'
  | 'extensions'
>;

const cjkPattern = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/gu;
const latinPattern = /\p{Script=Latin}/gu;

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/** zh-CN when more of the text's letters are CJK characters than Latin letters; otherwise en-US. */
export function detectLanguage(...texts: string[]): CharacterLanguage {
  // The first text that has letters at all decides: the description, then the fallbacks the caller gave.
  for (const text of texts) {
    const cjk = countMatches(text, cjkPattern);
    const latin = countMatches(text, latinPattern);
    if (cjk + latin > 0) return cjk > latin ? 'zh-CN' : 'en-US';
  }
  return 'en-US';
}

interface OmoideExtension {
  language?: CharacterLanguage;
  aliases?: string[];
}

function omoideExtension(extensions: Readonly<Record<string, unknown>>): OmoideExtension {
  const value = extensions.omoide;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const record = value as Record<string, unknown>;
  const result: OmoideExtension = {};
  if (record.language === 'zh-CN' || record.language === 'en-US') result.language = record.language;
  if (Array.isArray(record.aliases)) {
    result.aliases = record.aliases.filter((alias): alias is string => typeof alias === 'string');
  }
  return result;
}

export function cardToCharacterFields(card: CardData): CardCharacterFields {
  const omoide = omoideExtension(card.extensions);
  const aliases = [...(omoide.aliases ?? []), ...(card.nickname ? [card.nickname] : [])]
    .map((alias) => alias.trim())
    .filter((alias, index, all) => alias !== '' && alias !== card.name && all.indexOf(alias) === index);
  return {
    name: card.name,
    aliases,
    language:
      omoide.language ??
      detectLanguage(card.description, card.personality, card.firstMessage, card.scenario, card.systemPrompt),
    description: card.description,
    personality: card.personality,
    scenario: card.scenario,
    greeting: card.firstMessage.trim() === '' ? null : card.firstMessage,
    alternateGreetings: [...card.alternateGreetings],
    exampleDialogues: splitExampleMessages(card.exampleMessages, { char: [card.name, ...aliases] }),
    systemPrompt: card.systemPrompt,
    postHistoryInstructions: card.postHistoryInstructions,
    tags: [...card.tags],
    creator: card.creator,
    characterVersion: card.characterVersion,
    extensions: structuredClone(card.extensions),
  };
}

export interface CharacterToCardOptions {
  lorebook?: Lorebook | null;
  creatorNotes?: string;
}

/** A V3 card for a character; language and aliases go to `extensions.omoide` so a re-import restores them. */
export function characterToCard(character: CardCharacterFields, options: CharacterToCardOptions = {}): CardData {
  const previous = character.extensions.omoide;
  const omoide = {
    ...(typeof previous === 'object' && previous !== null && !Array.isArray(previous) ? previous : {}),
    language: character.language,
    aliases: [...character.aliases],
  };
  return {
    spec: 'chara_card_v3',
    name: character.name,
    description: character.description,
    personality: character.personality,
    scenario: character.scenario,
    firstMessage: character.greeting ?? '',
    exampleMessages: joinExampleMessages(character.exampleDialogues),
    creatorNotes: options.creatorNotes ?? '',
    systemPrompt: character.systemPrompt,
    postHistoryInstructions: character.postHistoryInstructions,
    alternateGreetings: [...character.alternateGreetings],
    groupOnlyGreetings: [],
    characterBook: options.lorebook ? structuredClone(options.lorebook) : null,
    tags: [...character.tags],
    creator: character.creator,
    characterVersion: character.characterVersion,
    extensions: { ...structuredClone(character.extensions), omoide },
    nickname: null,
    assets: null,
    creatorNotesMultilingual: null,
    source: null,
    creationDate: null,
    modificationDate: null,
  };
}
