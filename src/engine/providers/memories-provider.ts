/**
 * The 'memories' prompt section: what the character remembers of the speaker, recalled for what they just said
 * (memory/retrieval.ts ranks it), each item dated; in a group, nothing they said in private. Memories that make it into the prompt grow stronger, as recalling
 * strengthens a memory in MemoryBank's forgetting curve.
 */
import type { Memory } from '../../memory/memory.js';
import { formatMemoryItem } from '../../memory/retrieval.js';
import type { CharacterContextProvider, CharacterTurn } from '../engine.js';
import { audienceOf, memoryScopeOf } from './memory-scope.js';

export function createMemoriesProvider(memory: Memory): CharacterContextProvider {
  // Which memory each offered item was, until the prompt says which items it kept.
  const recalled = new WeakMap<CharacterTurn, number[]>();
  return {
    section: 'memories',
    async collect(turn) {
      const result = await memory.search(memoryScopeOf(turn), turn.message.text, {
        now: turn.message.timestamp,
        excludeMessageIds: [turn.messageId],
        history: turn.history,
        audience: audienceOf(turn),
      });
      recalled.set(turn, result.memories.map((item) => item.record.id));
      return result.memories.map((item) => formatMemoryItem(item.record));
    },
    included(turn, indexes) {
      const ids = recalled.get(turn);
      recalled.delete(turn);
      if (!ids) return;
      const kept = indexes.map((index) => ids[index]).filter((id): id is number => id !== undefined);
      if (kept.length > 0) memory.strengthen(kept, turn.message.timestamp);
    },
  };
}
