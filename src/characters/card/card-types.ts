/**
 * The wire shapes of SillyTavern character cards (Character Card V1, V2 and V3), as they appear in a card's JSON or
 * in a PNG's `chara` / `ccv3` text chunk, and the one normalized shape (`CardData`) that omoide works with.
 * Types only: validation lives in parse-card.ts.
 */
import type { DialogueTurn } from '../character.js';
import type { Lorebook } from '../lorebook.js';

/** The oldest, flat cards (TavernAI): no `spec`, the fields at the top level. */
export interface CardV1 {
  name: string;
  description: string;
  personality: string;
  scenario: string;
  first_mes: string;
  mes_example: string;
}

export interface CardV2Data {
  name: string;
  description: string;
  personality: string;
  scenario: string;
  first_mes: string;
  mes_example: string;
  creator_notes: string;
  system_prompt: string;
  post_history_instructions: string;
  alternate_greetings: string[];
  character_book?: Lorebook;
  tags: string[];
  creator: string;
  character_version: string;
  extensions: Record<string, unknown>;
}

export interface CardV2 {
  spec: 'chara_card_v2';
  spec_version: '2.0';
  data: CardV2Data;
}

/** An image, voice or other file that belongs to a V3 card; `uri` may be `embeded://`, `ccdefault:` or a URL. */
export interface CardAsset {
  type: string;
  uri: string;
  name: string;
  ext: string;
}

export interface CardV3Data extends CardV2Data {
  nickname?: string;
  group_only_greetings: string[];
  assets?: CardAsset[];
  creator_notes_multilingual?: Record<string, string>;
  source?: string[];
  /** Unix seconds. */
  creation_date?: number;
  /** Unix seconds. */
  modification_date?: number;
}

export interface CardV3 {
  spec: 'chara_card_v3';
  spec_version: '3.0';
  data: CardV3Data;
}

/** Which format a card was read from. */
export type CardSpec = 'chara_card_v1' | 'chara_card_v2' | 'chara_card_v3';

/**
 * One card, whatever version it came from. Optional V3 fields are `null` when the card did not have them, so that
 * writing the card back does not invent values. `extensions` is kept exactly as read (other tools store their data
 * there and expect it back).
 */
export interface CardData {
  spec: CardSpec;
  name: string;
  description: string;
  personality: string;
  scenario: string;
  firstMessage: string;
  /** The raw `mes_example` text; `splitExampleMessages` turns it into dialogues. */
  exampleMessages: string;
  creatorNotes: string;
  systemPrompt: string;
  postHistoryInstructions: string;
  alternateGreetings: string[];
  groupOnlyGreetings: string[];
  characterBook: Lorebook | null;
  tags: string[];
  creator: string;
  characterVersion: string;
  extensions: Record<string, unknown>;
  nickname: string | null;
  assets: CardAsset[] | null;
  creatorNotesMultilingual: Record<string, string> | null;
  source: string[] | null;
  creationDate: number | null;
  modificationDate: number | null;
}

/** One turn of an example dialogue: the Character's own `DialogueTurn`. */
export type ExampleTurn = DialogueTurn;
