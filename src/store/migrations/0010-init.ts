import type { Migration } from './migration.js';

/** Users, conversations, messages and the character chosen per channel. Times are platform epoch milliseconds. */
export const init: Migration = {
  version: 10,
  name: 'init',
  up(db) {
    db.exec(`
      CREATE TABLE users (
        id               INTEGER PRIMARY KEY,
        platform         TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        display_name     TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        UNIQUE (platform, platform_user_id)
      );

      -- A conversation is one character speaking in one channel; guild_id is '' outside servers/groups.
      CREATE TABLE conversations (
        id              INTEGER PRIMARY KEY,
        platform        TEXT NOT NULL,
        guild_id        TEXT NOT NULL DEFAULT '',
        channel_id      TEXT NOT NULL,
        character_id    TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        last_message_at INTEGER NOT NULL,
        UNIQUE (platform, guild_id, channel_id, character_id)
      );

      CREATE TABLE messages (
        id                  INTEGER PRIMARY KEY,
        conversation_id     INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        user_id             INTEGER REFERENCES users(id) ON DELETE CASCADE,
        role                TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        speaker_name        TEXT NOT NULL,
        content             TEXT NOT NULL,
        token_count         INTEGER NOT NULL,
        platform_message_id TEXT,
        reply_to_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        failed              INTEGER NOT NULL DEFAULT 0,
        created_at          INTEGER NOT NULL
      );
      CREATE INDEX messages_by_conversation_time ON messages (conversation_id, created_at, id);
      CREATE INDEX messages_by_user ON messages (user_id);

      -- Which character speaks in a channel, set by /persona or the terminal's /character.
      CREATE TABLE channel_characters (
        platform     TEXT NOT NULL,
        guild_id     TEXT NOT NULL DEFAULT '',
        channel_id   TEXT NOT NULL,
        character_id TEXT NOT NULL,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (platform, guild_id, channel_id)
      );
    `);
  },
};
