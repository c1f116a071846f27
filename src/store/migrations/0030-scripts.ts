import type { Migration } from './migration.js';

/**
 * Characters' scripts (ChatHaruhi story excerpts) indexed for the 'scenes' prompt section; all SQL for them lives in
 * src/store/script-store.ts.
 *
 * script_indexes holds one row per indexed character: which script (its hash) was embedded by which embedder, so
 * the index is rebuilt only when one of them changes. Its integer id is the character's prefix in script_text
 * (`s7x团子`, the same scoped-terms scheme as memory_text, see src/memory/segment.ts), so a text query walks only
 * that character's postings and 1-2 character Chinese terms match.
 *
 * Vectors are not created here: a vec0 table has a fixed dimension, so script-store.ts creates
 * `script_vectors_<dimension>` at run time, partitioned by character_id, with a trigger that follows chunk deletes.
 */
export const scripts: Migration = {
  version: 30,
  name: 'scripts',
  up(db) {
    db.exec(`
      CREATE TABLE script_indexes (
        id           INTEGER PRIMARY KEY,
        character_id TEXT NOT NULL UNIQUE,
        -- CharacterScript.hash of the script that was indexed
        script_hash  TEXT NOT NULL,
        embedder_id  TEXT NOT NULL,
        dimension    INTEGER NOT NULL CHECK (dimension > 0),
        chunk_count  INTEGER NOT NULL CHECK (chunk_count >= 0),
        indexed_at   INTEGER NOT NULL
      );

      CREATE TABLE script_chunks (
        id           INTEGER PRIMARY KEY,
        character_id TEXT NOT NULL REFERENCES script_indexes(character_id) ON DELETE CASCADE,
        -- position in the script's natural file order, from 0
        ordinal      INTEGER NOT NULL,
        -- the file inside script/texts/ it came from
        file         TEXT NOT NULL,
        text         TEXT NOT NULL,
        token_count  INTEGER NOT NULL,
        UNIQUE (character_id, ordinal)
      );

      CREATE VIRTUAL TABLE script_text USING fts5(
        terms, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
      );
      -- a chunk deleted any way (re-index, or its index row removed by cascade) leaves no text entry behind
      CREATE TRIGGER script_chunks_text_cleanup AFTER DELETE ON script_chunks BEGIN
        DELETE FROM script_text WHERE rowid = old.id;
      END;
    `);
  },
};
