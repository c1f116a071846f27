import type Database from 'better-sqlite3';

/** Whether a table (or any schema object: an index, a trigger) of this name exists. */
export function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE name = ?`).get(name)!.n > 0;
}
