/**
 * Opening the database: pragmas once, sqlite-vec loaded, migrations applied in order. Everything that touches SQL
 * lives under src/store/.
 */
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from '../core/errors.js';
import { createLogger } from '../util/logger.js';
import { migrations } from './migrations/index.js';

export type SqliteDatabase = Database.Database;

export interface DatabaseOptions {
  /**
   * When a commit is durable. 'normal' (the default, with WAL): a commit survives a crash of omoide, and a power loss
   * may lose the last commits but never corrupts the database. 'full': a commit also survives a power loss, for an
   * fsync per commit (a few milliseconds on most disks).
   */
  readonly synchronous?: 'normal' | 'full';
}

/** The write-ahead log is cut back to this size whenever a checkpoint has emptied it. */
const walSizeLimitBytes = 64 * 1024 * 1024;

export function openDatabase(path: string, options: DatabaseOptions = {}): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma(`journal_size_limit = ${walSizeLimitBytes}`);
  // What is deleted (a person's forget-me above all) is overwritten on disk, not left in free pages.
  db.pragma('secure_delete = ON');
  // Vector search reads every vector of a person's scope (10k memories are 15 MB at 384 dimensions): served from
  // the page cache and a memory map instead of the 2 MB default cache, a KNN costs a fraction as much.
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 2147418112'); // the most this SQLite build maps
  sqliteVec.load(db);
  applyMigrations(db);
  checkpointInBackground(db);
  return db;
}

/** A second, read-only connection to an existing database (another thread's lookups): no migrations, no writes. */
export function openReadOnlyDatabase(path: string): SqliteDatabase {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 2147418112');
  sqliteVec.load(db);
  return db;
}

/** How often the write-ahead log is copied back into the database file. */
const checkpointIntervalMs = 5_000;

/**
 * SQLite's automatic checkpoint runs inside whichever write fills the log, and its fsync made one message in a
 * hundred wait ~10 ms. Checkpointing from a timer instead does the same work between messages. The timer does not
 * keep the process alive, and closing the database checkpoints what is left.
 */
function checkpointInBackground(db: SqliteDatabase): void {
  if (!db.memory) db.pragma('wal_autocheckpoint = 0');
  const timer = setInterval(() => {
    if (!db.open) {
      clearInterval(timer);
      return;
    }
    try {
      if (!db.inTransaction) db.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      // A busy or failing checkpoint is retried by the next tick; it must not take the process down.
      checkpointLogger.warn('checkpoint failed; the next one tries again', { error });
    }
  }, checkpointIntervalMs);
  timer.unref();
}

const checkpointLogger = createLogger('store');

/**
 * Copies the whole write-ahead log into the database and empties the log file, when no reader holds it: after an
 * erase, the deleted rows then survive in neither file. Returns whether the log was emptied.
 */
export function checkpointAndTruncate(db: SqliteDatabase): boolean {
  if (db.memory || db.inTransaction) return false;
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
  return result !== undefined && result.busy === 0;
}

export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Each migration runs in its own immediate transaction that also bumps user_version, so a crash never leaves half. */
export function applyMigrations(db: SqliteDatabase): void {
  const current = schemaVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StoreError(
      `the database schema is version ${current}, newer than this omoide understands (${latest}); upgrade omoide or use another data directory`,
    );
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}
