import type Database from 'better-sqlite3';
import { documentTerms } from '../../search/terms.js';
import { tableExists } from '../schema-objects.js';
import type { Migration } from './migration.js';

const oldName = 'onebot';
const newName = 'qq';

/**
 * QQ had three names: the live adapter stored its people and channels under 'onebot', while config and the CLI said
 * 'qq' — so `memory import --platform qq` filed people under 'qq', where the live adapter never looked. Everything
 * is 'qq' now. A person or a conversation present under both names becomes one (the live 'onebot' row's id is kept);
 * when both held memories for the same character and guild, the imported ones move into the live scope, their text
 * terms rewritten for it and their vectors left to be embedded again (they wait in memory_vector_backlog).
 */
export const onePlatformName: Migration = {
  version: 70,
  name: 'one-platform-name',
  up(db) {
    mergeConversations(db);
    db.prepare(`UPDATE OR REPLACE channel_characters SET platform = ? WHERE platform = ?`).run(newName, oldName);
    mergeUsers(db);
  },
};

function mergeConversations(db: Database.Database): void {
  const pairs = db
    .prepare<[string, string], { live: number; other: number; last: number }>(`
      SELECT o.id AS live, q.id AS other, max(o.last_message_at, q.last_message_at) AS last
      FROM conversations o JOIN conversations q
        ON q.platform = ? AND q.guild_id = o.guild_id AND q.channel_id = o.channel_id AND q.character_id = o.character_id
      WHERE o.platform = ?`)
    .all(newName, oldName);
  const moveMessages = db.prepare<[number, number]>(`UPDATE messages SET conversation_id = ? WHERE conversation_id = ?`);
  const setLast = db.prepare<[number, number]>(`UPDATE conversations SET last_message_at = ? WHERE id = ?`);
  const drop = db.prepare<[number]>(`DELETE FROM conversations WHERE id = ?`);
  for (const { live, other, last } of pairs) {
    moveMessages.run(live, other);
    setLast.run(last, live);
    drop.run(other);
  }
  db.prepare(`UPDATE conversations SET platform = ? WHERE platform = ?`).run(newName, oldName);
}

function mergeUsers(db: Database.Database): void {
  const pairs = db
    .prepare<[string, string], { live: number; other: number }>(`
      SELECT o.id AS live, q.id AS other
      FROM users o JOIN users q ON q.platform = ? AND q.platform_user_id = o.platform_user_id
      WHERE o.platform = ?`)
    .all(newName, oldName);
  for (const { live, other } of pairs) mergeUser(db, live, other);
  db.prepare(`UPDATE users SET platform = ? WHERE platform = ?`).run(newName, oldName);
}

/** Moves everything of user `other` to user `live`, then deletes `other`. */
function mergeUser(db: Database.Database, live: number, other: number): void {
  db.prepare(`UPDATE messages SET user_id = ? WHERE user_id = ?`).run(live, other);
  const scopes = db
    .prepare<[number, number], { other: number; live: number | null }>(`
      SELECT q.id AS other, o.id AS live
      FROM memory_scopes q LEFT JOIN memory_scopes o ON o.user_id = ? AND o.character_id = q.character_id AND o.guild_id = q.guild_id
      WHERE q.user_id = ?`)
    .all(live, other);
  for (const scope of scopes) {
    if (scope.live === null) db.prepare(`UPDATE memory_scopes SET user_id = ? WHERE id = ?`).run(live, scope.other);
    else moveMemories(db, scope.other, scope.live);
  }
  // Consolidation state: where both have a row for the same unit, the live one's stays (so imported dialogue newer
  // than the live person's planning cursor may be summarized once more: a rare case, costing a summary, not data).
  db.prepare(`UPDATE OR IGNORE consolidation_jobs SET user_id = ? WHERE user_id = ?`).run(live, other);
  db.prepare(`UPDATE OR IGNORE consolidation_cursors SET user_id = ? WHERE user_id = ?`).run(live, other);
  db.prepare(`DELETE FROM users WHERE id = ?`).run(other);
}

/**
 * Moves a scope's memories into another scope of the same character and guild, then deletes the emptied scope. The
 * text terms are rewritten by today's segmentation (search/terms.ts), as any write does: a later change of it does
 * not change what this migration already wrote.
 */
function moveMemories(db: Database.Database, from: number, to: number): void {
  const memories = db.prepare<[number], { id: number; content: string }>(`SELECT id, content FROM memories WHERE scope_id = ?`).all(from);
  const vectorTables = db
    .prepare<[], { table_name: string }>(`SELECT table_name FROM embedding_spaces WHERE state != 'retired'`)
    .all()
    .map((row) => row.table_name);
  const setScope = db.prepare<[number, number]>(`UPDATE memories SET scope_id = ? WHERE id = ?`);
  const deleteTerms = db.prepare<[number]>(`DELETE FROM memory_text WHERE rowid = ?`);
  const insertTerms = db.prepare<[number, string]>(`INSERT INTO memory_text (rowid, terms) VALUES (?, ?)`);
  const toBacklog = db.prepare<[number]>(`INSERT OR IGNORE INTO memory_vector_backlog (memory_id) VALUES (?)`);
  // Vectors are partitioned by scope: the moved ones are dropped and embedded again into the new partition.
  const deleteVectors = vectorTables.flatMap((table) => [
    db.prepare<[bigint]>(`DELETE FROM ${table} WHERE rowid = ?`),
    ...(tableExists(db, `${table}_half`) ? [db.prepare<[bigint]>(`DELETE FROM ${table}_half WHERE memory_id = ?`)] : []),
  ]);
  for (const memory of memories) {
    setScope.run(to, memory.id);
    deleteTerms.run(memory.id);
    insertTerms.run(memory.id, documentTerms(to, memory.content));
    for (const statement of deleteVectors) statement.run(BigInt(memory.id));
    toBacklog.run(memory.id);
  }
  db.prepare(`DELETE FROM memory_scopes WHERE id = ?`).run(from);
}
