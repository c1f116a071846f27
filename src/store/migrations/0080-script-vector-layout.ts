import type Database from 'better-sqlite3';
import type { Migration } from './migration.js';

/**
 * Script vectors move to the layout memories use (vector-table.ts: SimHash codes + half floats, in tables named
 * `script_codes_<dimension>` that script-store.ts creates on first use). The float tables of the layout before,
 * `script_vectors_<dimension>` (vec0, cosine, partitioned by character_id), go with their cleanup triggers, and so
 * does every script index: its chunks (their text terms with them, by script_chunks_text_cleanup) and its index row.
 * With no index state left, the startup pass (ScriptIndex.ensureAll) re-embeds every script into the new layout —
 * the only way to get there, since half floats and codes are made from the embedder's full vectors.
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
    // on first use): nothing of the old layout to forget then.
    if (!tableExists(db, 'script_chunks')) return;
    db.exec(`DELETE FROM script_chunks; DELETE FROM script_indexes;`);
  },
};

/** The vec0 tables themselves, not their shadow tables (`_chunks`, `_rowids`, ...), which go with them. */
function oldVectorTables(db: Database.Database): string[] {
  return db
    .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
    .all()
    .map((row) => row.name)
    .filter((name) => /^script_vectors_\d+$/.test(name));
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE name = ?`).get(name)!.n > 0;
}
