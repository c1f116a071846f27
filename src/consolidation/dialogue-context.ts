/**
 * A job's dialogue as a prompt shows it: "[MM-DD HH:mm] Speaker: text" lines in the memory timezone, one line per
 * message, cut from the start to fit the token budget (the end of a day says most about how it ended).
 */
import type { Character } from '../characters/character.js';
import type { ScopeMessage } from '../store/conversation-store.js';
import { promptLanguage, type DialogueContext } from './prompts.js';

/** A message's share of the budget beyond its text: the stamp and the speaker's name. */
const lineOverheadTokens = 8;

export type DialogueFramer = (messages: readonly ScopeMessage[], character: Character) => DialogueContext;

export function createDialogueFramer(timeZone: string, maxDialogueTokens: number): DialogueFramer {
  const timeFormat = new Intl.DateTimeFormat('en-CA', {
    timeZone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });
  const stamp = (at: number): string => {
    const parts = Object.fromEntries(timeFormat.formatToParts(at).map((part) => [part.type, part.value]));
    return `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
  };

  return (messages, character) => {
    const lines: string[] = [];
    let tokens = 0;
    let truncated = false;
    for (let index = messages.length - 1; index >= 0; index--) {
      const message = messages[index]!;
      const cost = message.tokenCount + lineOverheadTokens;
      if (lines.length > 0 && tokens + cost > maxDialogueTokens) {
        truncated = true;
        break;
      }
      tokens += cost;
      lines.push(`[${stamp(message.createdAt)}] ${message.speakerName}: ${message.content.replace(/\s*\n\s*/g, ' ')}`);
    }
    const userName = [...messages].reverse().find((message) => message.role === 'user')?.speakerName ?? 'user';
    return {
      language: promptLanguage(character.language),
      characterName: character.name,
      userName,
      dialogue: lines.reverse().join('\n'),
      truncated,
    };
  };
}
