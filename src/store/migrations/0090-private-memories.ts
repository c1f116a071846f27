import type { Migration } from './migration.js';

/**
 * Memories remember where they were said: `private` when a source message was said in a private conversation (a DM,
 * the terminal; conversations.guild_id ''), or, without sources, when its scope is a private one. With memory following
 * a person across servers (`memory.scope: global`), such memories stay out of group prompts.
 */
export const privateMemories: Migration = {
  version: 90,
  name: 'private-memories',
  up(db) {
    db.exec(`
      ALTER TABLE memories ADD COLUMN private INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1));
      UPDATE memories SET private = 1 WHERE EXISTS (
        SELECT 1 FROM json_each(memories.source_message_ids) j
        JOIN messages src ON src.id = j.value JOIN conversations c ON c.id = src.conversation_id
        WHERE c.guild_id = ''
      );
    `);
  },
};
