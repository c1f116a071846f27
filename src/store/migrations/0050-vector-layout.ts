import type { Migration } from './migration.js';

/**
 * Embedding spaces record how their vectors are stored (memory-store.ts `vectorLayout`). Spaces made before this
 * were layout 1; memory.ts rebuilds them into the current layout at start, as it does for a changed embedder.
 */
export const vectorLayout: Migration = {
  version: 50,
  name: 'vector-layout',
  up(db) {
    db.exec(`ALTER TABLE embedding_spaces ADD COLUMN layout INTEGER NOT NULL DEFAULT 1`);
  },
};
