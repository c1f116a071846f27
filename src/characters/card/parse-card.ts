/**
 * Reads a character card's JSON (V1 flat, V2 `chara_card_v2`, V3 `chara_card_v3`) into `CardData`. Cards in the wild
 * leave fields out or set them to null, so only `name` is required; a field of the wrong type is an error that names
 * the file and the field.
 */
import { z } from 'zod';
import { CharacterError } from '../../core/errors.js';
import { parseLorebook } from '../lorebook.js';
import { checkNesting } from '../text-files.js';
import type { CardAsset, CardData, CardSpec, ExampleTurn } from './card-types.js';

const text = z.string().nullish().transform((value) => value ?? '');
const stringList = z.array(z.string()).nullish().transform((value) => value ?? []);
const record = z.record(z.string(), z.unknown());

const v2DataSchema = z.object({
  name: z.string().trim().min(1, 'must be a non-empty string'),
  description: text,
  personality: text,
  scenario: text,
  first_mes: text,
  mes_example: text,
  creator_notes: text,
  system_prompt: text,
  post_history_instructions: text,
  alternate_greetings: stringList,
  character_book: z.unknown().optional(),
  tags: stringList,
  creator: text,
  character_version: z
    .union([z.string(), z.number()])
    .nullish()
    .transform((value) => (value === null || value === undefined ? '' : String(value))),
  extensions: record.nullish().transform((value) => value ?? {}),
});

const assetSchema = z.object({ type: z.string(), uri: z.string(), name: z.string(), ext: z.string() });

const v3DataSchema = v2DataSchema.extend({
  nickname: z.string().nullish(),
  group_only_greetings: stringList,
  assets: z.array(assetSchema).nullish(),
  creator_notes_multilingual: z.record(z.string(), z.string()).nullish(),
  source: z.array(z.string()).nullish(),
  creation_date: z.number().nullish(),
  modification_date: z.number().nullish(),
});

// The TavernAI / Pygmalion names that some V1 files still use.
const legacyV1Names: Record<string, string> = {
  char_name: 'name',
  char_persona: 'description',
  world_scenario: 'scenario',
  char_greeting: 'first_mes',
  example_dialogue: 'mes_example',
};

function validate<T>(schema: z.ZodType<T>, value: unknown, file: string, prefix: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = [prefix, ...(issue?.path ?? []).map(String)].filter((part) => part !== '').join('.');
    throw new CharacterError(file, field || null, issue?.message ?? 'invalid value');
  }
  return result.data;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses card JSON text; `file` names the source in errors (a path, or `card.png (chunk ccv3)`). */
export function parseCardJson(jsonText: string, file: string): CardData {
  let value: unknown;
  try {
    value = JSON.parse(jsonText.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new CharacterError(file, null, `invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  checkNesting(value, file);
  return parseCardObject(value, file);
}

/** Validates an already parsed card object. */
export function parseCardObject(value: unknown, file: string): CardData {
  if (!isRecord(value)) throw new CharacterError(file, null, 'a card must be a JSON object');
  const spec = value.spec;
  if (spec === 'chara_card_v3') {
    checkVersion(value.spec_version, '3', file);
    const data = validate(v3DataSchema, value.data, file, 'data');
    return {
      ...fromV2Data(data, 'chara_card_v3', file),
      groupOnlyGreetings: data.group_only_greetings,
      nickname: data.nickname ?? null,
      assets: data.assets ? data.assets.map((asset): CardAsset => ({ ...asset })) : null,
      creatorNotesMultilingual: data.creator_notes_multilingual ?? null,
      source: data.source ?? null,
      creationDate: data.creation_date ?? null,
      modificationDate: data.modification_date ?? null,
    };
  }
  if (spec === 'chara_card_v2') {
    checkVersion(value.spec_version, '2', file);
    return fromV2Data(validate(v2DataSchema, value.data, file, 'data'), 'chara_card_v2', file);
  }
  if (spec !== undefined) {
    throw new CharacterError(file, 'spec', `unknown card spec ${JSON.stringify(spec)} (expected chara_card_v2 or chara_card_v3)`);
  }
  const flat: Record<string, unknown> = { ...value };
  for (const [legacy, modern] of Object.entries(legacyV1Names)) {
    if (flat[modern] === undefined && flat[legacy] !== undefined) flat[modern] = flat[legacy];
  }
  const v1 = validate(
    v2DataSchema.pick({ name: true, description: true, personality: true, scenario: true, first_mes: true, mes_example: true }),
    flat,
    file,
    '',
  );
  return fromV2Data(
    {
      ...v1,
      creator_notes: '',
      system_prompt: '',
      post_history_instructions: '',
      alternate_greetings: [],
      character_book: undefined,
      tags: [],
      creator: '',
      character_version: '',
      extensions: {},
    },
    'chara_card_v1',
    file,
  );
}

function checkVersion(version: unknown, major: string, file: string): void {
  // spec_version is informative; only a different major version means fields we would misread.
  if (version === undefined || version === null) return;
  const asText = String(version);
  if (asText.split('.')[0] !== major) {
    throw new CharacterError(file, 'spec_version', `expected ${major}.x, found ${JSON.stringify(version)}`);
  }
}

function fromV2Data(data: z.infer<typeof v2DataSchema>, spec: CardSpec, file: string): CardData {
  const book = data.character_book;
  return {
    spec,
    name: data.name,
    description: data.description,
    personality: data.personality,
    scenario: data.scenario,
    firstMessage: data.first_mes,
    exampleMessages: data.mes_example,
    creatorNotes: data.creator_notes,
    systemPrompt: data.system_prompt,
    postHistoryInstructions: data.post_history_instructions,
    alternateGreetings: data.alternate_greetings,
    groupOnlyGreetings: [],
    characterBook: book === undefined || book === null ? null : parseLorebook(book, file, 'data.character_book'),
    tags: data.tags,
    creator: data.creator,
    characterVersion: data.character_version,
    extensions: data.extensions,
    nickname: null,
    assets: null,
    creatorNotesMultilingual: null,
    source: null,
    creationDate: null,
    modificationDate: null,
  };
}

export interface ExampleSpeakerNames {
  /** The user's display name, when the examples use it instead of `{{user}}`. */
  user?: string;
  /** The character's name (and aliases), when the examples use them instead of `{{char}}`. */
  char?: string | readonly string[];
}

// The same spellings the prompt's macro resolver accepts (macros.ts), so every card that renders also splits.
const userMarker = /^(\{\{\s*user\s*\}\}|<user>)$/i;
const charMarker = /^(\{\{\s*char\s*\}\}|<bot>|<char>)$/i;

function speakerOf(line: string, names: ExampleSpeakerNames): { speaker: ExampleTurn['speaker']; rest: string } | null {
  // trimStart, not a leading \s* in the pattern: that made a line of spaces cubic (16,000 spaces took 20 s).
  const match = /^([^:：]{1,64}?)\s*[:：]\s?(.*)$/s.exec(line.trimStart());
  if (!match) return null;
  const label = match[1]!.trim().toLowerCase();
  const rest = match[2]!;
  const charNames = typeof names.char === 'string' ? [names.char] : (names.char ?? []);
  if (userMarker.test(label) || (names.user !== undefined && names.user.trim().toLowerCase() === label)) {
    return { speaker: 'user', rest };
  }
  if (charMarker.test(label) || charNames.some((name) => name.trim().toLowerCase() === label)) {
    return { speaker: 'char', rest };
  }
  return null;
}

/**
 * Splits a card's `mes_example` into dialogues: each `<START>` begins one, each `{{user}}:` / `{{char}}:` line (or a
 * line starting with one of the given names) begins a turn, and other lines continue the turn before them. Macros in
 * the text are kept for the prompt builder to fill in.
 */
export function splitExampleMessages(mesExample: string, names: ExampleSpeakerNames = {}): ExampleTurn[][] {
  const dialogues: ExampleTurn[][] = [];
  for (const block of mesExample.replace(/\r\n?/g, '\n').split(/<start>/i)) {
    const turns: Array<{ speaker: ExampleTurn['speaker']; text: string }> = [];
    for (const line of block.split('\n')) {
      const started = speakerOf(line, names);
      const last = turns[turns.length - 1];
      if (started) turns.push({ speaker: started.speaker, text: started.rest });
      // A line before the first speaker has no one to belong to: the spec leaves it undefined, we drop it.
      else if (last) last.text += '\n' + line;
    }
    const cleaned = turns
      .map((turn) => ({ speaker: turn.speaker, text: turn.text.trim() }))
      .filter((turn) => turn.text !== '');
    if (cleaned.length > 0) dialogues.push(cleaned);
  }
  return dialogues;
}

/** The inverse of `splitExampleMessages`: `<START>` blocks of `{{user}}:` / `{{char}}:` lines. */
export function joinExampleMessages(dialogues: readonly (readonly ExampleTurn[])[]): string {
  return dialogues
    .filter((dialogue) => dialogue.length > 0)
    .map(
      (dialogue) =>
        '<START>\n' +
        dialogue.map((turn) => `${turn.speaker === 'user' ? '{{user}}' : '{{char}}'}: ${turn.text}`).join('\n'),
    )
    .join('\n');
}
