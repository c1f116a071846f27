import type Database from 'better-sqlite3';
import { tableExists } from '../schema-objects.js';
import type { Migration } from './migration.js';

/**
 * Script vectors move to the layout memories use (vector-table.ts: SimHash codes + half floats, in tables named
 * `script_codes_<dimension>` that script-store.ts creates on first use). The float tables of the layout before,
 * `script_vectors_<dimension>` (vec0, cosine, partitioned by character_id), go with their cleanup triggers. Each
 * index keeps its chunks and their text terms but is marked as made by no embedder: the startup pass
 * (ScriptIndex.ensureAll) then re-embeds it into the new layout — the only way there, since half floats and codes are
 * made from the embedder's full vectors — and until it has, or when the embedder is down at that start, scenes are
 * still found by text, as for an index made by another embedder.
 */
export const scriptVectorLayout: Migration = {
  version: 80,
  name: 'script-vector-layout',
  up(db) {
    for (const table of oldVectorTables(db)) {
      // Dropped before the chunks are deleted, so those deletes do not first walk every old table's trigger.
      db.exec(`DROP TRIGGER IF EXISTS ${table}_cleanup; DROP TABLE ${table};`);
    }
    // A database created by a build that had 0040 but not yet 0030 has no script tables (script-store.ts makes them
    // on first use): nothing of the old layout to mark then.
    if (!tableExists(db, 'script_indexes')) return;
    db.exec(`UPDATE script_indexes SET embedder_id = '${staleEmbedderId}'`);
  },
};

/** No embedder has this id: an index marked with it matches none, and is rebuilt. */
const staleEmbedderId = 'none:float-layout-before-migration-80';

/** The vec0 tables themselves, not their shadow tables (`_chunks`, `_rowids`, ...), which go with them. */
function oldVectorTables(db: Database.Database): string[] {
  return db
    .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
    .all()
    .map((row) => row.name)
    .filter((name) => /^script_vectors_\d+$/.test(name));
}
