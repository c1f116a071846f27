import type { Migration } from './migration.js';

/**
 * Memories written before their vector (an answered turn is archived at once and embedded in the background): each
 * waits here until its vector is written, so a crash or an embedder outage only delays the embedding. `attempts`
 * counts the times the embedder refused this one text while it took others, so one bad text cannot hold up the rest.
 */
export const vectorBacklog: Migration = {
  version: 60,
  name: 'vector-backlog',
  up(db) {
    db.exec(`
      CREATE TABLE memory_vector_backlog (
        memory_id INTEGER PRIMARY KEY,
        attempts  INTEGER NOT NULL DEFAULT 0
      );
      CREATE TRIGGER memories_backlog_cleanup AFTER DELETE ON memories BEGIN
        DELETE FROM memory_vector_backlog WHERE memory_id = old.id;
      END;
    `);
  },
};
