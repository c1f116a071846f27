import type { Migration } from './migration.js';

/**
 * Memory consolidation bookkeeping (src/consolidation/). One row per unit of work, unique on (kind, scope, unit), so
 * planning the same closed session twice, or after a crash, never creates a second job; a job's memories and its
 * 'done' state are committed in one transaction by src/store/job-store.ts's caller.
 *
 * The scope is (user, character, guild key) where the guild key is '' in DMs and for every guild when memory is
 * global, exactly as memory_scopes keys it. Cursors say which messages of a scope were already planned into jobs.
 */
export const consolidation: Migration = {
  version: 40,
  name: 'consolidation',
  up(db) {
    db.exec(`
      CREATE TABLE consolidation_jobs (
        id                INTEGER PRIMARY KEY,
        kind              TEXT NOT NULL CHECK (kind IN ('summary', 'portrait', 'self_concept', 'rolling', 'forget')),
        user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        character_id      TEXT NOT NULL,
        guild_key         TEXT NOT NULL DEFAULT '',
        -- what the job covers within its scope: a session (s<first>-<last>), a session's day, a rolling chunk, a day
        unit              TEXT NOT NULL,
        -- the local day it covers (summary, forget), or null
        day               TEXT,
        -- the first message of the session it belongs to (rolling summaries chain within one session)
        session_start_id  INTEGER,
        from_message_id   INTEGER,
        to_message_id     INTEGER,
        -- platform time of the last message it covers: the backlog runs oldest first
        due_at            INTEGER NOT NULL,
        state             TEXT NOT NULL DEFAULT 'pending'
                          CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
        -- LLM tries so far, across runs (a try cut short by a crash counts)
        attempts          INTEGER NOT NULL DEFAULT 0,
        last_error        TEXT,
        -- host/pid/token of the process running it, so a dead process's jobs can be taken over
        owner             TEXT,
        started_at        INTEGER,
        finished_at       INTEGER,
        result_memory_ids TEXT NOT NULL DEFAULT '[]',
        created_at        INTEGER NOT NULL,
        UNIQUE (kind, user_id, character_id, guild_key, unit)
      );
      CREATE INDEX consolidation_jobs_by_state ON consolidation_jobs (state, due_at, id);
      CREATE INDEX consolidation_jobs_by_session ON consolidation_jobs (user_id, character_id, guild_key, kind, session_start_id);

      CREATE TABLE consolidation_cursors (
        user_id              INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        character_id         TEXT NOT NULL,
        guild_key            TEXT NOT NULL DEFAULT '',
        -- every message of the scope up to this id belongs to a closed session whose jobs are planned
        planned_through      INTEGER NOT NULL DEFAULT 0,
        -- rolling summaries: chunks up to this id are planned; the session that message belongs to and its time
        rolled_through       INTEGER NOT NULL DEFAULT 0,
        rolled_session_start INTEGER,
        rolled_at            INTEGER,
        updated_at           INTEGER NOT NULL,
        PRIMARY KEY (user_id, character_id, guild_key)
      );

      -- a scope's dialogue is its user's messages and the replies to them
      CREATE INDEX IF NOT EXISTS messages_by_reply ON messages (reply_to_message_id) WHERE reply_to_message_id IS NOT NULL;
    `);
  },
};
