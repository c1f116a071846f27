/**
 * A job's scope (user, character, guild key) seen from the other sides: the memory scope its results are written
 * to, the dialogue it reads, and which scopes a run asked for. Guild keys come from scope-keys.ts only.
 */
import { guildKeyOf, scopeKeys, type MemoryScopeKey, type MemoryScopeMode } from '../memory/scope-keys.js';
import type { DialogueScope } from '../store/conversation-store.js';
import type { JobFilter, JobScope } from '../store/job-store.js';

/** The memory scope a job writes to: guild key '' is a DM (or every guild, when memory is global). */
export function memoryScopeOf(scope: JobScope): MemoryScopeKey {
  return { userId: scope.userId, characterId: scope.characterId, guildId: scope.guildKey === '' ? null : scope.guildKey };
}

/** The dialogue that feeds a job scope. */
export function dialogueScopeOf(mode: MemoryScopeMode, scope: JobScope): DialogueScope {
  return scopeKeys(mode, memoryScopeOf(scope)).dialogue;
}

/** One string per job scope, for maps and queues. */
export function jobScopeKey(scope: JobScope): string {
  return `${scope.userId}\u0000${scope.characterId}\u0000${scope.guildKey}`;
}

/** What a run is limited to; `guildId` (null: DMs and the terminal) means nothing when memory is global. */
export interface ScopeSelection {
  readonly userId?: number;
  readonly characterId?: string;
  readonly guildId?: string | null;
}

export function jobFilterOf(mode: MemoryScopeMode, selection: ScopeSelection): JobFilter {
  return {
    ...(selection.userId !== undefined ? { userId: selection.userId } : {}),
    ...(selection.characterId !== undefined ? { characterId: selection.characterId } : {}),
    ...(selection.guildId !== undefined && mode !== 'global' ? { guildKey: guildKeyOf(mode, selection.guildId) } : {}),
  };
}

/** The filter as JobStore applies it in SQL, for scopes found elsewhere (the dialogue, the memory scopes). */
export function inFilter(scope: JobScope, filter: JobFilter): boolean {
  return (
    (filter.userId === undefined || scope.userId === filter.userId) &&
    (filter.characterId === undefined || scope.characterId === filter.characterId) &&
    (filter.guildKey === undefined || scope.guildKey === filter.guildKey)
  );
}
