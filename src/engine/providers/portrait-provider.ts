/**
 * The 'portrait' prompt section: who the speaker is to the character — the latest portrait of them and the
 * character's self-concept toward them, both written by consolidation.
 */
import type { Memory } from '../../memory/memory.js';
import type { CharacterContextProvider } from '../engine.js';
import { audienceOf, memoryScopeOf } from './memory-scope.js';

export function createPortraitProvider(memory: Memory): CharacterContextProvider {
  return {
    section: 'portrait',
    collect(turn) {
      const scope = memoryScopeOf(turn);
      const audience = audienceOf(turn);
      return [memory.latestOfKind(scope, 'portrait', audience), memory.latestOfKind(scope, 'self_concept', audience)]
        .filter((record) => record !== null)
        .map((record) => record.content);
    },
  };
}
