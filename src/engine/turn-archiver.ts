/**
 * Every answered turn becomes a 'turn' memory of its speaker: written before the next turn of the channel, embedded
 * in the background (Memory.archiveTurn), so archiving never holds a reply back.
 */
import type { Memory } from '../memory/memory.js';
import type { CharacterTurnListener } from './engine.js';
import { memoryScopeOf } from './providers/memory-scope.js';

export function createTurnArchiver(memory: Memory): CharacterTurnListener {
  return {
    onTurnComplete(turn, reply) {
      memory.archiveTurn({
        scope: memoryScopeOf(turn),
        userName: turn.message.author.displayName,
        userText: turn.message.text,
        characterName: turn.character.name,
        reply: reply.text,
        occurredAt: turn.message.timestamp,
        sourceMessageIds: [turn.messageId, reply.messageId],
      });
    },
  };
}
