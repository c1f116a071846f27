/**
 * A character as the rest of omoide sees it: every field present, defaults filled in, names in camelCase.
 * The on-disk format (characters/<id>/character.yaml, snake_case keys) is described in docs/characters.md and
 * validated by load-characters.ts. Text keeps its {{char}} / {{user}} macros; they are resolved at prompt time.
 */
export type CharacterLanguage = 'zh-CN' | 'en-US';

export interface DialogueTurn {
  readonly speaker: 'user' | 'char';
  readonly text: string;
}

export interface CharacterModelSettings {
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxReplyTokens?: number;
  readonly contextWindow?: number;
}

export interface Character {
  readonly id: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly language: CharacterLanguage;
  readonly description: string;
  readonly personality: string;
  readonly scenario: string;
  readonly worldId: string | null;
  readonly greeting: string | null;
  readonly alternateGreetings: readonly string[];
  readonly exampleDialogues: readonly (readonly DialogueTurn[])[];
  readonly systemPrompt: string;
  readonly postHistoryInstructions: string;
  readonly tags: readonly string[];
  readonly creator: string;
  readonly characterVersion: string;
  readonly model: CharacterModelSettings;
  readonly extensions: Readonly<Record<string, unknown>>;
  /** folder it was loaded from and the file, for error messages */
  readonly directory: string;
  readonly file: string;
}
