import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../src/core/errors.js';
import { ConversationStore } from '../src/store/conversation-store.js';
import type { SqliteDatabase } from '../src/store/db.js';
import { openDatabase, schemaVersion } from '../src/store/db.js';
import { migrations } from '../src/store/migrations/index.js';

let directory: string;
let db: SqliteDatabase;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-store-'));
  db = openDatabase(join(directory, 'nested', 'omoide.db'));
});
afterEach(() => {
  db.close();
  rmSync(directory, { recursive: true, force: true });
});

const key = { platform: 'discord', guildId: 'g1', channelId: 'c1', characterId: 'juniper' };

describe('openDatabase', () => {
  it('applies every migration, with WAL and foreign keys on, and sqlite-vec loaded', () => {
    expect(schemaVersion(db)).toBe(migrations.at(-1)!.version);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.prepare('SELECT vec_version() AS v').get()).toEqual({ v: expect.stringMatching(/^v0\./) });
  });

  it('is idempotent on reopen and refuses a database newer than the code', () => {
    const path = db.name;
    db.close();
    db = openDatabase(path);
    expect(schemaVersion(db)).toBe(migrations.at(-1)!.version);
    db.pragma('user_version = 99999');
    db.close();
    expect(() => openDatabase(path)).toThrow(StoreError);
    db = new Database(path); // for afterEach
  });
});

describe('ConversationStore', () => {
  it('records a user message with its user and conversation, and keeps display names fresh', () => {
    const store = new ConversationStore(db);
    const first = store.recordUserMessage({
      conversation: key, platformUserId: 'u1', displayName: 'Aki', content: 'hi', tokenCount: 1, platformMessageId: 'm1', createdAt: 1000,
    });
    const second = store.recordUserMessage({
      conversation: key, platformUserId: 'u1', displayName: 'Aki-chan', content: 'again', tokenCount: 1, platformMessageId: 'm2', createdAt: 2000,
    });
    expect(second.userId).toBe(first.userId);
    expect(second.conversationId).toBe(first.conversationId);
    expect(db.prepare('SELECT display_name FROM users WHERE id = ?').get(first.userId)).toEqual({ display_name: 'Aki-chan' });
  });

  it('returns the latest messages oldest first, ordered by platform time', () => {
    const store = new ConversationStore(db);
    // Inserted out of order: replayed history must still read in platform-time order.
    const times = [5000, 1000, 3000, 4000, 2000];
    let conversationId = 0;
    for (const time of times) {
      conversationId = store.recordUserMessage({
        conversation: key, platformUserId: 'u1', displayName: 'Aki', content: `at ${time}`, tokenCount: 2, platformMessageId: null, createdAt: time,
      }).conversationId;
    }
    expect(store.recentMessages(conversationId, 3).map((m) => m.content)).toEqual(['at 3000', 'at 4000', 'at 5000']);
  });

  it('writes nothing when a step of the transaction fails', () => {
    const store = new ConversationStore(db);
    const before = store.messageCount();
    expect(() =>
      store.recordUserMessage({
        conversation: key, platformUserId: 'u2', displayName: 'Bo',
        content: null as unknown as string, // violates NOT NULL after the user and conversation rows were written
        tokenCount: 1, platformMessageId: null, createdAt: 1,
      }),
    ).toThrow();
    expect(store.messageCount()).toBe(before);
    expect(store.findUserId('discord', 'u2')).toBeNull();
  });

  it('keeps the character chosen per channel', () => {
    const store = new ConversationStore(db);
    expect(store.channelCharacter('discord', 'g1', 'c1')).toBeNull();
    store.setChannelCharacter('discord', 'g1', 'c1', 'xiaoman', 1);
    store.setChannelCharacter('discord', 'g1', 'c1', 'juniper', 2);
    expect(store.channelCharacter('discord', 'g1', 'c1')).toBe('juniper');
    expect(store.channelCharacter('discord', 'g1', 'c2')).toBeNull();
  });
});
