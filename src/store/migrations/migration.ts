import type Database from 'better-sqlite3';

/** One step of the schema: applied once, in its own immediate transaction that also sets `PRAGMA user_version`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}
