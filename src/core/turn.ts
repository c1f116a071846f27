/**
 * The contracts of one answered turn: what a context provider sees and fills (a prompt section), and what a turn
 * listener is told once the reply exists. The engine (src/engine) drives them; the providers live beside it. The
 * kernel names only the parts of a character these contracts need, so it imports nothing: the engine's turns carry
 * the full character model (`Turn<Character>`).
 */
import type { IncomingMessage } from './message.js';

/** What every turn knows of the character answering it. */
export interface TurnCharacter {
  readonly id: string;
  readonly name: string;
}

/** One earlier line of the conversation, as the prompt shows it. */
export interface HistoryLine {
  readonly role: 'user' | 'assistant';
  readonly speakerName: string;
  readonly content: string;
  /** counted once when stored, so the prompt never re-counts old messages */
  readonly tokenCount: number;
}

/** The prompt sections that context providers fill, items best first. */
export type ContextSectionName = 'world' | 'lorebook' | 'portrait' | 'memories' | 'scenes';

/** What a context provider sees of the turn being answered. */
export interface Turn<Character extends TurnCharacter = TurnCharacter> {
  /** the message being answered, its text as the prompt shows it (trimmed, cut to the configured length) */
  readonly message: IncomingMessage;
  readonly character: Character;
  /** the speaker's stored user id */
  readonly userId: number;
  readonly conversationId: number;
  /** the stored id of the message being answered */
  readonly messageId: number;
  /** earlier lines, oldest first, without the current message */
  readonly history: readonly HistoryLine[];
  readonly locale: string;
}

/** Fills one optional prompt section, best item first (memory recall, script scenes, lorebook, world). */
export interface ContextProvider<Character extends TurnCharacter = TurnCharacter> {
  readonly section: ContextSectionName;
  collect(turn: Turn<Character>): Promise<readonly string[]> | readonly string[];
  /** Told which of its items made it into the prompt (indexes into what collect returned), e.g. to strengthen them. */
  included?(turn: Turn<Character>, indexes: readonly number[]): void;
}

/**
 * Told about every answered turn (e.g. to archive it as memory), after the reply is ready and without holding it
 * back: whatever a listener does synchronously happens before the next turn of the channel, its async rest in the
 * background (the engine's idle() waits for it). Failures are logged, never shown to users.
 */
export interface TurnListener<Character extends TurnCharacter = TurnCharacter> {
  onTurnComplete(turn: Turn<Character>, reply: { readonly text: string; readonly messageId: number }): Promise<void> | void;
}
