import type { Migration } from './migration.js';

/**
 * Long-term memory per (user, character, guild) scope. Vectors are not created here: a vec0 table has a fixed
 * dimension, so src/store/memory-store.ts creates one per embedding space at run time (embedding_spaces lists them).
 *
 * memory_text is the one FTS5 index. Its terms are pre-tokenized by src/memory/segment.ts and every term carries its
 * scope id (`s42x团子`), so a query only walks its own scope's postings. It is contentless (the text lives in
 * memories.content) with contentless_delete so rows can be removed one by one.
 */
export const memories: Migration = {
  version: 20,
  name: 'memories',
  up(db) {
    db.exec(`
      CREATE TABLE memory_scopes (
        id           INTEGER PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        character_id TEXT NOT NULL,
        -- '' in DMs and the terminal, and for every guild when memory follows the user across servers
        guild_id     TEXT NOT NULL DEFAULT '',
        created_at   INTEGER NOT NULL,
        UNIQUE (user_id, character_id, guild_id)
      );

      CREATE TABLE memories (
        id                 INTEGER PRIMARY KEY,
        scope_id           INTEGER NOT NULL REFERENCES memory_scopes(id) ON DELETE CASCADE,
        kind               TEXT NOT NULL
                           CHECK (kind IN ('turn', 'event', 'fact', 'daily_summary', 'portrait', 'self_concept')),
        content            TEXT NOT NULL,
        -- platform epoch ms of the source; day is its YYYY-MM-DD in the configured timezone, for date questions
        occurred_at        INTEGER NOT NULL,
        day                TEXT NOT NULL,
        importance         REAL NOT NULL DEFAULT 0.5 CHECK (importance >= 0 AND importance <= 1),
        strength           REAL NOT NULL DEFAULT 1 CHECK (strength > 0),
        last_recalled_at   INTEGER,
        recall_count       INTEGER NOT NULL DEFAULT 0,
        source_message_ids TEXT NOT NULL DEFAULT '[]',
        -- an update never destroys: the new row is inserted and the old one points at it
        superseded_by      INTEGER REFERENCES memories(id) ON DELETE SET NULL,
        -- set by a forgetting job; clearing it restores the memory
        forgotten_at       INTEGER,
        created_at         INTEGER NOT NULL
      );
      CREATE INDEX memories_by_scope_kind_day ON memories (scope_id, kind, day);
      CREATE INDEX memories_by_scope_day ON memories (scope_id, day);
      CREATE INDEX memories_by_scope_created ON memories (scope_id, created_at, id);
      CREATE INDEX memories_by_superseded ON memories (superseded_by) WHERE superseded_by IS NOT NULL;

      CREATE TABLE embedding_spaces (
        id          INTEGER PRIMARY KEY,
        embedder_id TEXT NOT NULL,
        dimension   INTEGER NOT NULL CHECK (dimension > 0),
        table_name  TEXT NOT NULL UNIQUE,
        state       TEXT NOT NULL CHECK (state IN ('building', 'active', 'retired')),
        created_at  INTEGER NOT NULL
      );
      -- at most one active space: vectors of two embedders are never searched together
      CREATE UNIQUE INDEX embedding_spaces_one_active ON embedding_spaces (state) WHERE state = 'active';

      CREATE VIRTUAL TABLE memory_text USING fts5(
        terms, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
      );
      -- a memory deleted any way (forgetUser, or its user deleted by cascade) leaves no text entry behind
      CREATE TRIGGER memories_text_cleanup AFTER DELETE ON memories BEGIN
        DELETE FROM memory_text WHERE rowid = old.id;
      END;
    `);
  },
};
