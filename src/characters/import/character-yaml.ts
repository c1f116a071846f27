/** Writes a character.yaml (docs/characters.md) for an imported character: snake_case keys, empty fields left out. */
import { Document } from 'yaml';
import type { CardCharacterFields } from '../card/card-mapping.js';
import type { ScriptSettings } from '../character.js';

export interface CharacterYamlFields extends CardCharacterFields {
  readonly world?: string | null;
  readonly scriptSettings?: ScriptSettings | null;
}

const nonEmpty = (values: readonly string[]) => values.map((value) => value.trim()).filter((value) => value !== '');

/** The YAML text; `comment` (e.g. where it was imported from) goes at the top. */
export function characterToYaml(fields: CharacterYamlFields, comment?: string): string {
  const record: Record<string, unknown> = { name: fields.name };
  const aliases = nonEmpty(fields.aliases);
  if (aliases.length > 0) record.aliases = aliases;
  record.language = fields.language;
  record.description = fields.description;
  const optionalText = {
    personality: fields.personality,
    scenario: fields.scenario,
    world: fields.world ?? '',
    greeting: fields.greeting ?? '',
  };
  for (const [key, value] of Object.entries(optionalText)) if (value.trim() !== '') record[key] = value;
  const greetings = nonEmpty(fields.alternateGreetings);
  if (greetings.length > 0) record.alternate_greetings = greetings;
  const dialogues = fields.exampleDialogues
    .map((dialogue) => dialogue.filter((turn) => turn.text.trim() !== '').map((turn) => ({ [turn.speaker]: turn.text })))
    .filter((dialogue) => dialogue.length > 0);
  if (dialogues.length > 0) record.example_dialogues = dialogues;
  const moreText = {
    system_prompt: fields.systemPrompt,
    post_history_instructions: fields.postHistoryInstructions,
  };
  for (const [key, value] of Object.entries(moreText)) if (value.trim() !== '') record[key] = value;
  const tags = nonEmpty(fields.tags);
  if (tags.length > 0) record.tags = tags;
  if (fields.creator.trim() !== '') record.creator = fields.creator;
  if (fields.characterVersion.trim() !== '') record.character_version = fields.characterVersion;
  if (fields.scriptSettings) {
    record.script = { budget_tokens: fields.scriptSettings.budgetTokens, min_chunks: fields.scriptSettings.minChunks };
  }
  if (Object.keys(fields.extensions).length > 0) record.extensions = structuredClone(fields.extensions);
  const document = new Document(record);
  if (comment) document.commentBefore = ` ${comment.replace(/\n/g, '\n ')}`;
  // lineWidth 0: never fold long lines, so the text reads back exactly as it was.
  return document.toString({ lineWidth: 0 });
}
