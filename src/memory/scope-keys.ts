/**
 * Whose memory, and which dialogue it comes from: the one place the `memory.scope` setting is applied. With
 * `per-guild`, what a person says in one server or group stays there (DMs and the terminal are the guild ''); with
 * `global`, memory follows the person everywhere, so every guild's dialogue feeds one scope keyed by the guild ''.
 */
import type { DialogueScope } from '../store/conversation-store.js';
import type { MemorySettings } from './settings.js';

export type MemoryScopeMode = MemorySettings['scope'];

/** Whose memory: a person (users.id) with a character, where they talk (null in DMs and the terminal). */
export interface MemoryScopeKey {
  /** users.id (ConversationStore's user id, as in Turn.userId) */
  readonly userId: number;
  readonly characterId: string;
  readonly guildId: string | null;
}

export interface ScopeKeys {
  /** the guild the scope's memories, jobs and confirmation codes are kept under */
  readonly guildKey: string;
  /** the dialogue that feeds the scope: one guild's, or every guild's when memory is global */
  readonly dialogue: DialogueScope;
}

export function scopeKeys(mode: MemoryScopeMode, scope: MemoryScopeKey): ScopeKeys {
  const guildKey = guildKeyOf(mode, scope.guildId);
  return {
    guildKey,
    dialogue: { userId: scope.userId, characterId: scope.characterId, guildId: mode === 'global' ? null : guildKey },
  };
}

/** The guild key of anything said in `guildId` (null: a DM or the terminal). */
export function guildKeyOf(mode: MemoryScopeMode, guildId: string | null): string {
  return mode === 'global' ? '' : (guildId ?? '');
}
