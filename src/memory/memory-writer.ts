/**
 * Writing memories: drafts are validated and embedded first (async, nothing written), then written in one
 * synchronous transaction — row, text terms and vector — into the embedder's space. An answered turn is the one
 * memory written before its vector: at once, listed in the backlog, embedded in the background (embedding-space.ts).
 */
import type { Clock } from '../core/clock.js';
import { InputError, StoreError } from '../core/errors.js';
import { documentTerms } from '../search/terms.js';
import type { SqliteDatabase } from '../store/db.js';
import { memoryKinds, type MemoryKind, type MemoryRecord, type MemoryStore, type MemoryWrite, type NewMemory } from '../store/memory-store.js';
import { dayInTimeZone } from './date-query.js';
import type { EmbeddingSpaces } from './embedding-space.js';
import { estimateImportance } from './importance.js';
import { formatTurn, truncateMemory } from './retrieval.js';
import { scopeKeys, type MemoryScopeKey } from './scope-keys.js';
import type { MemorySettings } from './settings.js';

/** A memory to store, before its scope is known (an importer creates the users in the same transaction). */
export interface MemoryDraft {
  readonly kind: MemoryKind;
  readonly content: string;
  /** when it happened (platform time of its source) */
  readonly occurredAt: Date | number;
  /** 0..1; default: the heuristic of importance.ts for turns, 0.5 otherwise */
  readonly importance?: number;
  /** default 1 */
  readonly strength?: number;
  readonly sourceMessageIds?: readonly number[];
}

/** A validated, embedded memory that nothing has written yet. */
export interface PreparedMemory {
  readonly kind: MemoryKind;
  readonly content: string;
  readonly occurredAt: number;
  readonly importance: number;
  readonly strength: number;
  readonly sourceMessageIds: readonly number[];
  readonly vector: Float32Array;
}

export interface PreparedWrite {
  readonly scope: MemoryScopeKey;
  readonly memory: PreparedMemory;
  /** replaces the draft's source ids, e.g. messages inserted in the same transaction */
  readonly sourceMessageIds?: readonly number[];
  /**
   * A current memory of the same scope and kind that this one replaces (it stays, pointing at the new one), in the
   * same transaction: consolidation commits a new portrait or a corrected fact together with its job's state.
   */
  readonly supersedes?: number;
}

export interface Replacement {
  readonly content: string;
  /** default: the old memory's */
  readonly occurredAt?: Date | number;
  /** default: the old memory's */
  readonly importance?: number;
  /** default: the old memory's */
  readonly sourceMessageIds?: readonly number[];
}

/** An answered turn to archive as a 'turn' memory. */
export interface TurnArchive {
  readonly scope: MemoryScopeKey;
  readonly userName: string;
  readonly userText: string;
  readonly characterName: string;
  readonly reply: string;
  /** the platform time of the person's message */
  readonly occurredAt: Date | number;
  /** the person's message and the reply */
  readonly sourceMessageIds: readonly number[];
}

export interface MemoryWriter {
  prepareMany(drafts: readonly MemoryDraft[], onProgress?: (done: number, total: number) => void): Promise<PreparedMemory[]>;
  writePrepared(entries: readonly PreparedWrite[]): MemoryRecord[];
  supersede(oldId: number, replacement: Replacement): Promise<MemoryRecord>;
  archiveTurn(turn: TurnArchive): MemoryRecord;
}

export interface MemoryWriterOptions {
  readonly db: SqliteDatabase;
  readonly store: MemoryStore;
  readonly spaces: EmbeddingSpaces;
  readonly settings: MemorySettings;
  readonly clock: Clock;
}

const toMs = (value: Date | number): number => (value instanceof Date ? value.getTime() : value);

export function createMemoryWriter(options: MemoryWriterOptions): MemoryWriter {
  const { db, store, spaces, settings, clock } = options;

  const scopeIdOf = (scope: MemoryScopeKey, now: number) =>
    store.ensureScope(scope.userId, scope.characterId, scopeKeys(settings.scope, scope).guildKey, now);

  function prepareContent(content: string, what: string): string {
    if (typeof content !== 'string' || !content.trim()) throw new InputError(`${what}: the memory content is empty`);
    return truncateMemory(content.trim(), settings.maxMemoryChars);
  }

  function checkImportance(value: number, what: string): number {
    if (!(Number.isFinite(value) && value >= 0 && value <= 1)) throw new InputError(`${what}: importance must be between 0 and 1, got ${value}`);
    return value;
  }

  /**
   * The row to write. It is private when one of its sources was said in a private conversation; a memory without
   * sources (an import, a test) is private when its place is (`privatePlace`: a DM's or the terminal's scope).
   */
  function newMemory(
    scopeId: number,
    memory: Omit<NewMemory, 'scopeId' | 'day' | 'createdAt' | 'private'>,
    createdAt: number,
    privatePlace: boolean,
  ): MemoryWrite['memory'] {
    const sources = memory.sourceMessageIds;
    const isPrivate = sources.length === 0 ? privatePlace : store.anyPrivateSource(sources);
    return { scopeId, ...memory, day: dayInTimeZone(memory.occurredAt, settings.timezone), createdAt, private: isPrivate };
  }

  async function prepareMany(drafts: readonly MemoryDraft[], onProgress?: (done: number, total: number) => void): Promise<PreparedMemory[]> {
    if (drafts.length === 0) return [];
    spaces.writable(); // fail before spending an embedding call
    const checked = drafts.map((draft, index) => {
      const what = `memory ${index + 1} of ${drafts.length}`;
      if (!memoryKinds.includes(draft.kind)) throw new InputError(`${what}: unknown kind "${String(draft.kind)}"`);
      const content = prepareContent(draft.content, what);
      const occurredAt = toMs(draft.occurredAt);
      if (!Number.isFinite(occurredAt)) throw new InputError(`${what}: occurredAt is not a valid time`);
      const importance = checkImportance(draft.importance ?? (draft.kind === 'turn' ? estimateImportance(content) : 0.5), what);
      const strength = draft.strength ?? 1;
      if (!(Number.isFinite(strength) && strength > 0)) throw new InputError(`${what}: strength must be positive, got ${strength}`);
      const sourceMessageIds = [...(draft.sourceMessageIds ?? [])];
      if (!sourceMessageIds.every((id) => Number.isInteger(id))) throw new InputError(`${what}: source message ids must be integers`);
      return { kind: draft.kind, content, occurredAt, importance, strength, sourceMessageIds };
    });
    // Embedded in slices so a long import can show progress; the embedder batches within each slice itself.
    const slice = Math.max(1, settings.reembedBatchSize);
    const prepared: PreparedMemory[] = [];
    onProgress?.(0, checked.length);
    for (let start = 0; start < checked.length; start += slice) {
      const part = checked.slice(start, start + slice);
      const vectors = await spaces.embedDocuments(part.map((item) => item.content));
      part.forEach((item, index) => prepared.push({ ...item, vector: vectors[index]! }));
      onProgress?.(prepared.length, checked.length);
    }
    return prepared;
  }

  function writePrepared(entries: readonly PreparedWrite[]): MemoryRecord[] {
    if (entries.length === 0) return [];
    const now = clock.now().getTime();
    // Inside a caller's transaction this nests as a savepoint: an importer's messages and memories commit together.
    return db.transaction(() => {
      // resolved at write time: the space may have switched from building to active while embedding
      const table = spaces.writable();
      const writes: MemoryWrite[] = entries.map(({ scope, memory, sourceMessageIds }, index) => {
        if (memory.vector.length !== table.dimension) {
          throw new StoreError(`memory ${index + 1} of ${entries.length} was embedded with ${memory.vector.length} dimensions, expected ${table.dimension}`);
        }
        const sources = [...(sourceMessageIds ?? memory.sourceMessageIds)];
        if (!sources.every((id) => Number.isInteger(id))) throw new InputError(`memory ${index + 1} of ${entries.length}: source message ids must be integers`);
        const scopeId = scopeIdOf(scope, now);
        const { vector, ...fields } = memory;
        const written = newMemory(scopeId, { ...fields, sourceMessageIds: sources }, now, scope.guildId === null);
        return { memory: written, terms: documentTerms(scopeId, memory.content), vector };
      });
      if (entries.every((entry) => entry.supersedes === undefined)) return store.insertMemories(writes, table);
      return writes.map((write, index) => {
        const oldId = entries[index]!.supersedes;
        if (oldId === undefined) return store.insertMemories([write], table)[0]!;
        const old = store.get(oldId);
        if (!old) throw new InputError(`memory ${index + 1} of ${entries.length}: memory ${oldId} to supersede does not exist`);
        if (old.scopeId !== write.memory.scopeId || old.kind !== write.memory.kind) {
          throw new InputError(`memory ${index + 1} of ${entries.length}: memory ${oldId} is of another scope or kind and cannot be superseded by it`);
        }
        return store.supersede(oldId, write, table);
      });
    })();
  }

  async function supersede(oldId: number, replacement: Replacement): Promise<MemoryRecord> {
    const old = store.get(oldId);
    if (!old) throw new InputError(`memory ${oldId} does not exist`);
    if (old.supersededBy !== null) throw new InputError(`memory ${oldId} was already superseded by memory ${old.supersededBy}`);
    spaces.writable();
    const what = `superseding memory ${oldId}`;
    const content = prepareContent(replacement.content, what);
    const occurredAt = replacement.occurredAt === undefined ? old.occurredAt : toMs(replacement.occurredAt);
    const [vector] = await spaces.embedDocuments([content]);
    const memory = newMemory(
      old.scopeId,
      {
        kind: old.kind, content, occurredAt, importance: checkImportance(replacement.importance ?? old.importance, what), strength: 1,
        sourceMessageIds: [...(replacement.sourceMessageIds ?? old.sourceMessageIds)],
      },
      clock.now().getTime(),
      old.private,
    );
    return store.supersede(oldId, { memory, terms: documentTerms(old.scopeId, content), vector: vector ?? null }, spaces.writable());
  }

  function archiveTurn(turn: TurnArchive): MemoryRecord {
    const now = clock.now().getTime();
    const content = prepareContent(formatTurn(turn.userName, turn.userText, turn.characterName, turn.reply), 'archived turn');
    const occurredAt = toMs(turn.occurredAt);
    return db.transaction(() => {
      const scopeId = scopeIdOf(turn.scope, now);
      const memory = newMemory(
        scopeId,
        { kind: 'turn', content, occurredAt, importance: estimateImportance(turn.userText), strength: 1, sourceMessageIds: [...turn.sourceMessageIds] },
        now,
        turn.scope.guildId === null,
      );
      return store.insertMemories([{ memory, terms: documentTerms(scopeId, content), vector: null }], null)[0]!;
    })();
  }

  return { prepareMany, writePrepared, supersede, archiveTurn };
}
