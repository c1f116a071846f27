import type { MemoryScopeKey } from '../../memory/scope-keys.js';
import type { CharacterTurn } from '../engine.js';

/** Whose memory a turn reads and adds to: its speaker's, with its character, where it was said. */
export function memoryScopeOf(turn: CharacterTurn): MemoryScopeKey {
  return { userId: turn.userId, characterId: turn.character.id, guildId: turn.message.guildId };
}
