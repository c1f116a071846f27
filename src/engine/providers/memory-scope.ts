import type { RecallAudience } from '../../memory/memory.js';
import type { MemoryScopeKey } from '../../memory/scope-keys.js';
import type { CharacterTurn } from '../engine.js';

/** Whose memory a turn reads and adds to: its speaker's, with its character, where it was said. */
export function memoryScopeOf(turn: CharacterTurn): MemoryScopeKey {
  return { userId: turn.userId, characterId: turn.character.id, guildId: turn.message.guildId };
}

/** Who reads the prompt a turn's memories go into: the speaker alone in a private chat, else a group. */
export function audienceOf(turn: CharacterTurn): RecallAudience {
  return turn.message.guildId === null || turn.message.addressing.direct ? 'private' : 'group';
}
