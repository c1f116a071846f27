/**
 * Erasing everything kept about a person in one scope (`/memory forget-me`, `forget-user`): their memories with
 * vectors and text index, their messages and the character's replies to them, and the consolidation bookkeeping of
 * that dialogue — in one transaction, so a crash leaves all of it or none — and, once nothing of theirs is left, what
 * still names them (their user row, their private conversations). Deleted rows are overwritten on disk (secure_delete),
 * the full-text index is rewritten without their terms, and the write-ahead log is emptied after. Limited to one guild (`onlyIn`: a server admin's
 * forget-user when memory is global), it erases the person's dialogue there and every memory made from it.
 */
import type { ConversationStore } from '../store/conversation-store.js';
import { checkpointAndTruncate, type SqliteDatabase } from '../store/db.js';
import { JobStore } from '../store/job-store.js';
import type { Memory } from './memory.js';
import { scopeKeys, type MemoryScopeKey, type MemoryScopeMode } from './scope-keys.js';

export interface ErasedPerson {
  readonly memories: number;
  readonly messages: number;
}

export type PersonEraser = (scope: MemoryScopeKey, options?: { readonly onlyIn?: string }) => ErasedPerson;

export interface PersonEraserOptions {
  readonly db: SqliteDatabase;
  readonly memory: Memory;
  readonly store: ConversationStore;
  /** per-guild: the dialogue of that guild (or DMs); global: of every guild, as memory follows the person there */
  readonly memoryScope: MemoryScopeMode;
}

export function createPersonEraser(options: PersonEraserOptions): PersonEraser {
  const { db, memory, store } = options;
  const jobs = new JobStore(db);

  function eraseDialogue(scope: MemoryScopeKey, onlyIn: string | undefined): ErasedPerson {
    if (onlyIn !== undefined) {
      // Memories first: which ones came from this guild is read from the messages about to go.
      const memories = memory.forgetSourcedIn(scope, onlyIn);
      const messages = store.deleteDialogueOfScope({ userId: scope.userId, characterId: scope.characterId, guildId: onlyIn });
      return { memories, messages };
    }
    const { guildKey, dialogue } = scopeKeys(options.memoryScope, scope);
    const memories = memory.forgetUser(scope);
    const messages = store.deleteDialogueOfScope(dialogue);
    jobs.deleteScope(scope.userId, scope.characterId, guildKey);
    return { memories, messages };
  }

  return (scope, eraseOptions = {}) => {
    const erased = db.transaction(() => {
      const privateConversations = store.privateConversationsOf(scope.userId);
      const result = eraseDialogue(scope, eraseOptions.onlyIn);
      store.forgetPersonIfGone(scope.userId, privateConversations);
      return result;
    })();
    if (erased.memories > 0) memory.purgeDeletedText();
    // secure_delete has zeroed the freed pages; the write-ahead log still holds copies of them until it is emptied.
    checkpointAndTruncate(db);
    return erased;
  };
}
