/**
 * A character as the rest of omoide sees it: every field present, defaults filled in, names in camelCase.
 * The on-disk format (characters/<id>/character.yaml, snake_case keys) is described in docs/characters.md and
 * validated by load-characters.ts. Text keeps its {{char}} / {{user}} macros; they are resolved at prompt time.
 */
import type { Lorebook } from './lorebook.js';

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

/** How much of the script the prompt may use; `script:` in character.yaml, defaults as ChatHaruhi's. */
export interface ScriptSettings {
  /** Token budget for script scenes in one prompt (ChatHaruhi's max_len_story). */
  readonly budgetTokens: number;
  /** The fewest scenes retrieval should offer (when the script has that many); the budget still decides what fits. */
  readonly minChunks: number;
}

/**
 * A ChatHaruhi-style script in the character's `script/` folder, recorded but not read into memory: the scene
 * retriever indexes the chunk files and uses `hash` to notice when they changed.
 */
export interface CharacterScript {
  /** Absolute path of the `script/` folder. */
  readonly directory: string;
  /** Absolute path of `script/system_prompt.txt`, or null when the script has none. */
  readonly systemPromptFile: string | null;
  /** Absolute path of `script/texts/`. */
  readonly textsDirectory: string;
  /** File names inside texts/ of the non-empty chunks, in natural order (text_2 before text_10). */
  readonly chunkFiles: readonly string[];
  readonly chunkCount: number;
  /** sha256 (hex) over the names and bytes of every .txt file of the script, system_prompt.txt included. */
  readonly hash: string;
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
  /** The character's own lorebook (lorebook.json / lorebook.yaml in its folder); its world may have another. */
  readonly lorebook: Lorebook | null;
  /** The script in `script/`, or null when the folder has none. */
  readonly script: CharacterScript | null;
  readonly scriptSettings: ScriptSettings;
  /** folder it was loaded from and the file, for error messages */
  readonly directory: string;
  readonly file: string;
}
