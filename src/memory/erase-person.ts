/**
 * Erasing everything kept about a person in one scope (`/memory forget-me`, `forget-user`): their memories with
 * vectors and text index, their messages and the character's replies to them, and the consolidation bookkeeping of
 * that dialogue — in one transaction, so a crash leaves all of it or none.
 */
import type { ConversationStore } from '../store/conversation-store.js';
import type { SqliteDatabase } from '../store/db.js';
import { JobStore } from '../store/job-store.js';
import type { Memory, MemoryScopeKey } from './memory.js';
import type { MemorySettings } from './settings.js';

export interface ErasedPerson {
  readonly memories: number;
  readonly messages: number;
}

export type PersonEraser = (scope: MemoryScopeKey) => ErasedPerson;

export interface PersonEraserOptions {
  readonly db: SqliteDatabase;
  readonly memory: Memory;
  readonly store: ConversationStore;
  /** per-guild: the dialogue of that guild (or DMs); global: of every guild, as memory follows the person there */
  readonly memoryScope: MemorySettings['scope'];
}

export function createPersonEraser(options: PersonEraserOptions): PersonEraser {
  const { db, memory, store } = options;
  const jobs = new JobStore(db);
  const global = options.memoryScope === 'global';
  return (scope) =>
    db.transaction(() => {
      const guildKey = global ? '' : (scope.guildId ?? '');
      const memories = memory.forgetUser(scope);
      const messages = store.deleteDialogueOfScope({ userId: scope.userId, characterId: scope.characterId, guildId: global ? null : guildKey });
      jobs.deleteScope(scope.userId, scope.characterId, guildKey);
      return { memories, messages };
    })();
}
