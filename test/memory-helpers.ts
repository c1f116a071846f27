/** Shared setup for the memory tests: a real database file with the real migrations, users, and a test embedder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../src/core/clock.js';
import type { Embedder } from '../src/llm/types.js';
import { createMemory, type Memory } from '../src/memory/memory.js';
import { segmentText } from '../src/search/terms.js';
import { memorySettingsSchema, type MemorySettingsInput } from '../src/memory/settings.js';
import { ConversationStore } from '../src/store/conversation-store.js';
import { openDatabase, type SqliteDatabase } from '../src/store/db.js';
import { createLogger } from '../src/util/logger.js';

export interface TestEmbedder extends Embedder {
  /** every text embedded, in order */
  readonly calls: string[][];
}

function hash(text: string, seed: number): number {
  let value = 2166136261 ^ seed;
  for (const character of text) {
    value ^= character.codePointAt(0)!;
    value = Math.imul(value, 16777619);
  }
  return value >>> 0;
}

/**
 * A deterministic bag-of-terms embedder (feature hashing over our own segmentation): texts that share terms point
 * the same way. Used until the builtin embedder is available to these tests; `salt` makes a "different model".
 */
export function createTestEmbedder(options: { id?: string; dimension?: number; salt?: number } = {}): TestEmbedder {
  const dimension = options.dimension ?? 256;
  const salt = options.salt ?? 0;
  const calls: string[][] = [];
  return {
    id: options.id ?? `test:bag-of-terms:${dimension}`,
    dimension,
    calls,
    async embed(texts) {
      calls.push([...texts]);
      return texts.map((text) => {
        const vector = new Float32Array(dimension);
        for (const term of segmentText(text)) {
          const bucket = hash(term, salt) % dimension;
          vector[bucket] = vector[bucket]! + ((hash(term, salt + 1) & 1) === 0 ? 1 : -1);
        }
        let norm = 0;
        for (const value of vector) norm += value * value;
        norm = Math.sqrt(norm);
        if (norm > 0) for (let index = 0; index < dimension; index++) vector[index] = vector[index]! / norm;
        return vector;
      });
    },
  };
}

export interface MemoryFixture {
  readonly directory: string;
  readonly path: string;
  db: SqliteDatabase;
  readonly clock: ManualClock;
  readonly conversations: ConversationStore;
  /** creates (or finds) a user and returns users.id */
  user(name: string, platform?: string): number;
  /** a memory facade over this database */
  memory(embedder: Embedder, settings?: MemorySettingsInput): Memory;
  /** counts rows in the memory tables (and a space's vectors when its vec0 table is given) */
  counts(vectorTable?: string): { memories: number; text: number; vectors: number };
  /** closes every memory facade made here (their text search threads), then the database */
  close(): Promise<void>;
}

/** A space's vectors: its vec0 codes and its stored vectors must always come and go together. */
function vectorCount(db: SqliteDatabase, vectorTable: string): number {
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const codes = count(vectorTable);
  const stored = count(`${vectorTable}_half`);
  if (codes !== stored) throw new Error(`${vectorTable}: ${codes} int8 codes but ${stored} stored vectors`);
  return codes;
}

export function openMemoryFixture(prefix = 'omoide-memory-'): MemoryFixture {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  const path = join(directory, 'omoide.db');
  const db = openDatabase(path);
  const clock = new ManualClock(Date.UTC(2024, 4, 20, 12));
  const conversations = new ConversationStore(db);
  const logger = createLogger('memory-test');
  const facades: Memory[] = [];
  const fixture: MemoryFixture = {
    directory,
    path,
    db,
    clock,
    conversations,
    user(name, platform = 'discord') {
      return conversations.recordUserMessage({
        conversation: { platform, guildId: '', channelId: `dm-${name}`, characterId: 'juniper' },
        platformUserId: `id-${name}`,
        displayName: name,
        content: 'hello',
        tokenCount: 1,
        platformMessageId: null,
        createdAt: clock.now().getTime(),
      }).userId;
    },
    memory(embedder, settings = {}) {
      const memory = createMemory({
        db: fixture.db,
        embedder,
        settings: memorySettingsSchema.parse({ timezone: 'Asia/Shanghai', ...settings }),
        clock,
        logger,
      });
      facades.push(memory);
      return memory;
    },
    counts(vectorTable) {
      const count = (sql: string) => (fixture.db.prepare(sql).get() as { n: number }).n;
      return {
        memories: count('SELECT count(*) AS n FROM memories'),
        // memory_text is contentless: count its rows through the docsize shadow table
        text: count('SELECT count(*) AS n FROM memory_text_docsize'),
        vectors: vectorTable ? vectorCount(fixture.db, vectorTable) : 0,
      };
    },
    async close() {
      await Promise.all(facades.map((memory) => memory.close()));
      if (fixture.db.open) fixture.db.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
  return fixture;
}
