/**
 * Long-term memory per user: the one facade the rest of omoide uses. A scope is (user, character, guild); guild is
 * '' in DMs and the terminal, and '' for every guild when `scope: global` lets memory follow the user across
 * servers. Nothing of one scope ever reaches another's prompt.
 *
 * What it gives the engine: two ContextProviders (section 'memories': recalled memories, strengthened when they
 * make it into the prompt; section 'portrait': the latest portrait and self-concept) and a TurnListener that
 * archives every answered turn. What it gives commands, importers, consolidation and the benchmark: remember,
 * supersede, search, listForUser, exportUser, forgetUser, and ensureEmbeddingSpace (call once at start).
 */
import type { Clock } from '../core/clock.js';
import type { ContextProvider, Turn, TurnListener } from '../core/engine.js';
import { InputError, StoreError } from '../core/errors.js';
import type { HistoryLine } from '../core/prompt.js';
import type { Embedder } from '../llm/types.js';
import type { SqliteDatabase } from '../store/db.js';
import { createTextSearch } from '../store/text-search.js';
import {
  MemoryStore, memoryKinds, vectorLayout, type EmbeddingSpace, type ListOptions, type MemoryKind, type MemoryRecord, type MemoryWrite,
} from '../store/memory-store.js';
import { createLogger, type Logger } from '../util/logger.js';
import { dayInTimeZone } from './date-query.js';
import { estimateImportance } from './importance.js';
import { formatMemoryItem, formatTurn, retrieveMemories, truncateMemory, type RetrievalResult } from './retrieval.js';
import { documentTerms } from './segment.js';
import type { MemorySettings } from './settings.js';

/** Whose memory: resolved to a scope row by the `scope` setting (per-guild or global). */
export interface MemoryScopeKey {
  /** users.id (ConversationStore's user id, as in Turn.userId) */
  readonly userId: number;
  readonly characterId: string;
  /** null in DMs and the terminal */
  readonly guildId: string | null;
}

export interface RememberInput extends MemoryDraft {
  readonly scope: MemoryScopeKey;
}

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

export interface SearchOptions {
  readonly limit?: number;
  /** the moment the question is asked; default the clock's now */
  readonly now?: Date | number;
  /** default true */
  readonly dateAware?: boolean;
  readonly history?: readonly HistoryLine[];
  readonly excludeMessageIds?: readonly number[];
}

export interface ReembedProgress {
  readonly embedderId: string;
  /** memories processed so far */
  readonly done: number;
  readonly total: number;
}

export interface EmbeddingSpaceReport {
  readonly space: EmbeddingSpace;
  /** true when a new space was built (the embedder changed, or it is the first start) */
  readonly rebuilt: boolean;
  /** memories embedded into the new space */
  readonly embedded: number;
}

export interface MemoryExport {
  readonly userId: number;
  readonly exportedAt: number;
  readonly scopes: readonly {
    readonly id: number;
    readonly characterId: string;
    readonly guildId: string;
    /** every memory, superseded and forgotten ones included, newest first */
    readonly memories: readonly MemoryRecord[];
  }[];
}

export interface Memory {
  /** [memories provider, portrait provider], for EngineDependencies.contextProviders */
  readonly contextProviders: readonly ContextProvider[];
  /** archives each answered turn as a 'turn' memory, for EngineDependencies.turnListeners */
  readonly turnListener: TurnListener;
  /**
   * Call once at start, before serving. Makes the active embedding space match the embedder; when the embedder
   * changed (id or dimension) it builds a new space, re-embeds every memory into it in batches (reporting progress),
   * switches atomically and drops the old vector table. An interrupted build resumes where it stopped.
   */
  ensureEmbeddingSpace(onProgress?: (progress: ReembedProgress) => void): Promise<EmbeddingSpaceReport>;
  /** Stores one memory of any kind (importers, consolidation): row, text index and vector in one transaction. */
  remember(input: RememberInput): Promise<MemoryRecord>;
  /** Like remember for many memories: one embedding batch and one transaction. */
  rememberMany(inputs: readonly RememberInput[]): Promise<MemoryRecord[]>;
  /**
   * The two halves of rememberMany, for writers that must commit memories together with rows of their own (one
   * transaction per import): validate and embed (async, writes nothing), then write (sync; nests as a savepoint
   * inside the caller's transaction).
   */
  prepareMany(drafts: readonly MemoryDraft[], onProgress?: (done: number, total: number) => void): Promise<PreparedMemory[]>;
  writePrepared(entries: readonly PreparedWrite[]): MemoryRecord[];
  /** Stores an updated version of a memory (same scope and kind); the old one stays, pointing at the new one. */
  supersede(oldId: number, replacement: Replacement): Promise<MemoryRecord>;
  /** Ranked memories of one scope for a query (/memory search, the benchmark), with ids and score parts. */
  search(scope: MemoryScopeKey, query: string, options?: SearchOptions): Promise<RetrievalResult>;
  /** One scope's memories, newest first (/memory list). */
  listForUser(scope: MemoryScopeKey, options?: ListOptions): MemoryRecord[];
  /** Everything stored about a user, across all their scopes (a data export). */
  exportUser(userId: number): MemoryExport;
  /** Deletes every memory of the scope, with vectors and text index, in one transaction; returns how many. */
  forgetUser(scope: MemoryScopeKey): number;
  /** The resolved scope id, or null when nothing was ever stored for it. */
  findScopeId(scope: MemoryScopeKey): number | null;
  /** Forgetting jobs: mark memories forgotten (hidden from retrieval) or restore them with `at` = null. */
  setForgotten(ids: readonly number[], at: Date | number | null): number;
  /** Stops the text search thread; call before closing the database. */
  close(): Promise<void>;
}

export interface CreateMemoryOptions {
  readonly db: SqliteDatabase;
  readonly embedder: Embedder;
  /** parsed settings (memorySettingsSchema output) */
  readonly settings: MemorySettings;
  readonly clock: Clock;
  readonly logger?: Logger;
}

const toMs = (value: Date | number): number => (value instanceof Date ? value.getTime() : value);

export function createMemory(options: CreateMemoryOptions): Memory {
  const { db, embedder, settings, clock } = options;
  const logger = options.logger ?? createLogger('memory');
  const store = new MemoryStore(db);
  const recalled = new WeakMap<Turn, number[]>();
  let ensuring: Promise<EmbeddingSpaceReport> | null = null;

  const guildFor = (guildId: string | null) => (settings.scope === 'global' ? '' : (guildId ?? ''));
  const findScopeId = (scope: MemoryScopeKey) => store.findScope(scope.userId, scope.characterId, guildFor(scope.guildId));
  const matchesEmbedder = (space: EmbeddingSpace) =>
    space.embedderId === embedder.id && space.dimension === embedder.dimension && space.layout === vectorLayout;

  /** The active space's table when it belongs to our embedder: otherwise vector search is skipped, never mixed. */
  const searchableTable = (): string | null => {
    const active = store.activeSpace();
    return active && matchesEmbedder(active) ? active.tableName : null;
  };

  /** Writes go to our embedder's space, active or still building. */
  const writableTable = (): string => {
    const space = store.spaces().find((candidate) => candidate.state !== 'retired' && matchesEmbedder(candidate));
    if (!space) {
      throw new StoreError(`memory has no embedding space for embedder ${embedder.id} (${embedder.dimension} dimensions); call ensureEmbeddingSpace() at start`);
    }
    return space.tableName;
  };

  const textSearch = createTextSearch(db, store, logger);
  const retrievalContext = { store, textSearch, embedder, settings, vectorTable: searchableTable, logger };

  async function embedDocuments(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const vectors = await embedder.embed(texts, { purpose: 'document' });
    if (vectors.length !== texts.length) {
      throw new StoreError(`embedder ${embedder.id} returned ${vectors.length} vectors for ${texts.length} texts`);
    }
    for (const vector of vectors) {
      if (vector.length !== embedder.dimension) {
        throw new StoreError(`embedder ${embedder.id} returned a vector of ${vector.length} dimensions, expected ${embedder.dimension}`);
      }
    }
    return vectors;
  }

  function prepareContent(content: string, what: string): string {
    if (typeof content !== 'string' || !content.trim()) throw new InputError(`${what}: the memory content is empty`);
    return truncateMemory(content.trim(), settings.maxMemoryChars);
  }

  function checkImportance(value: number, what: string): number {
    if (!(Number.isFinite(value) && value >= 0 && value <= 1)) throw new InputError(`${what}: importance must be between 0 and 1, got ${value}`);
    return value;
  }

  async function prepareMany(drafts: readonly MemoryDraft[], onProgress?: (done: number, total: number) => void): Promise<PreparedMemory[]> {
    if (drafts.length === 0) return [];
    writableTable(); // fail before spending an embedding call
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
      const vectors = await embedDocuments(part.map((item) => item.content));
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
      const writes: MemoryWrite[] = entries.map(({ scope, memory, sourceMessageIds }, index) => {
        if (memory.vector.length !== embedder.dimension) {
          throw new StoreError(`memory ${index + 1} of ${entries.length} was embedded with ${memory.vector.length} dimensions, expected ${embedder.dimension}`);
        }
        const sources = [...(sourceMessageIds ?? memory.sourceMessageIds)];
        if (!sources.every((id) => Number.isInteger(id))) throw new InputError(`memory ${index + 1} of ${entries.length}: source message ids must be integers`);
        const scopeId = store.ensureScope(scope.userId, scope.characterId, guildFor(scope.guildId), now);
        return {
          memory: {
            scopeId, kind: memory.kind, content: memory.content, occurredAt: memory.occurredAt,
            day: dayInTimeZone(memory.occurredAt, settings.timezone), importance: memory.importance, strength: memory.strength,
            sourceMessageIds: sources, createdAt: now,
          },
          terms: documentTerms(scopeId, memory.content),
          vector: memory.vector,
        };
      });
      // resolved at write time: the space may have switched from building to active while embedding
      const table = writableTable();
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

  async function rememberMany(inputs: readonly RememberInput[]): Promise<MemoryRecord[]> {
    const prepared = await prepareMany(inputs);
    return writePrepared(prepared.map((memory, index) => ({ scope: inputs[index]!.scope, memory })));
  }

  async function supersede(oldId: number, replacement: Replacement): Promise<MemoryRecord> {
    const old = store.get(oldId);
    if (!old) throw new InputError(`memory ${oldId} does not exist`);
    if (old.supersededBy !== null) throw new InputError(`memory ${oldId} was already superseded by memory ${old.supersededBy}`);
    writableTable();
    const what = `superseding memory ${oldId}`;
    const content = prepareContent(replacement.content, what);
    const occurredAt = replacement.occurredAt === undefined ? old.occurredAt : toMs(replacement.occurredAt);
    const [vector] = await embedDocuments([content]);
    return store.supersede(
      oldId,
      {
        memory: {
          scopeId: old.scopeId, kind: old.kind, content, occurredAt, day: dayInTimeZone(occurredAt, settings.timezone),
          importance: checkImportance(replacement.importance ?? old.importance, what), strength: 1,
          sourceMessageIds: [...(replacement.sourceMessageIds ?? old.sourceMessageIds)], createdAt: clock.now().getTime(),
        },
        terms: documentTerms(old.scopeId, content),
        vector: vector ?? null,
      },
      writableTable(),
    );
  }

  async function ensureSpace(onProgress?: (progress: ReembedProgress) => void): Promise<EmbeddingSpaceReport> {
    const spaces = store.spaces();
    const active = spaces.find((space) => space.state === 'active');
    if (active && matchesEmbedder(active)) return { space: active, rebuilt: false, embedded: 0 };
    // An unfinished build for another embedder is abandoned; one for ours resumes.
    for (const space of spaces) {
      if (space.state === 'building' && !matchesEmbedder(space)) store.dropSpace(space.id);
    }
    const building =
      spaces.find((space) => space.state === 'building' && matchesEmbedder(space)) ??
      store.createSpace(embedder.id, embedder.dimension, clock.now().getTime());
    if (active) {
      const reason = active.layout === vectorLayout ? 'the embedder changed' : 'the vector layout changed';
      logger.info(`${reason}; re-embedding every memory`, { from: active.embedderId, to: embedder.id });
    }
    const batchSize = settings.reembedBatchSize;
    let cursor = 0;
    let done = 0;
    let embedded = 0;
    let total = store.countMemories();
    onProgress?.({ embedderId: embedder.id, done, total });
    for (;;) {
      const batch = store.memoriesAfter(cursor, batchSize);
      if (batch.length === 0) break;
      cursor = batch.at(-1)!.id;
      // Already embedded (a resumed build, or a memory written into this space meanwhile): skip.
      const present = store.vectorsOf(building.tableName, batch.map((row) => row.id));
      const missing = batch.filter((row) => !present.has(row.id));
      const vectors = await embedDocuments(missing.map((row) => row.content));
      store.insertVectors(building.tableName, missing.map((row, index) => ({ id: row.id, scopeId: row.scopeId, vector: vectors[index]! })));
      embedded += missing.length;
      done += batch.length;
      total = Math.max(total, done);
      onProgress?.({ embedderId: embedder.id, done, total });
    }
    store.activateSpace(building.id);
    const space = store.activeSpace()!;
    logger.info('embedding space ready', { embedder: embedder.id, dimension: embedder.dimension, embedded });
    return { space, rebuilt: true, embedded };
  }

  const memoriesProvider: ContextProvider = {
    section: 'memories',
    async collect(turn) {
      const scopeId = findScopeId({ userId: turn.userId, characterId: turn.character.id, guildId: turn.message.guildId });
      if (scopeId === null) return [];
      const result = await retrieveMemories(retrievalContext, {
        scopeId,
        query: turn.message.text,
        now: turn.message.timestamp.getTime(),
        excludeMessageIds: [turn.messageId],
        history: turn.history,
      });
      recalled.set(turn, result.memories.map((item) => item.record.id));
      return result.memories.map((item) => formatMemoryItem(item.record));
    },
    included(turn, indexes) {
      const ids = recalled.get(turn);
      recalled.delete(turn);
      if (!ids) return;
      const kept = indexes.map((index) => ids[index]).filter((id): id is number => id !== undefined);
      store.strengthen(kept, turn.message.timestamp.getTime());
    },
  };

  const portraitProvider: ContextProvider = {
    section: 'portrait',
    collect(turn) {
      const scopeId = findScopeId({ userId: turn.userId, characterId: turn.character.id, guildId: turn.message.guildId });
      if (scopeId === null) return [];
      return [store.latestOfKind(scopeId, 'portrait'), store.latestOfKind(scopeId, 'self_concept')]
        .filter((record): record is MemoryRecord => record !== null)
        .map((record) => record.content);
    },
  };

  const turnListener: TurnListener = {
    async onTurnComplete(turn, reply) {
      await rememberMany([
        {
          scope: { userId: turn.userId, characterId: turn.character.id, guildId: turn.message.guildId },
          kind: 'turn',
          content: formatTurn(turn.message.author.displayName, turn.message.text, turn.character.name, reply.text),
          occurredAt: turn.message.timestamp,
          importance: estimateImportance(turn.message.text),
          sourceMessageIds: [turn.messageId, reply.messageId],
        },
      ]);
    },
  };

  return {
    contextProviders: [memoriesProvider, portraitProvider],
    turnListener,
    ensureEmbeddingSpace(onProgress) {
      ensuring ??= ensureSpace(onProgress).finally(() => {
        ensuring = null;
      });
      return ensuring;
    },
    async remember(input) {
      const [record] = await rememberMany([input]);
      return record!;
    },
    rememberMany,
    prepareMany,
    writePrepared,
    supersede,
    async search(scope, query, searchOptions = {}) {
      const scopeId = findScopeId(scope);
      if (scopeId === null) return { memories: [], dateRange: null, narrowedToRange: false };
      return retrieveMemories(retrievalContext, {
        scopeId,
        query,
        now: toMs(searchOptions.now ?? clock.now()),
        ...(searchOptions.limit !== undefined ? { limit: searchOptions.limit } : {}),
        ...(searchOptions.dateAware !== undefined ? { dateAware: searchOptions.dateAware } : {}),
        ...(searchOptions.history ? { history: searchOptions.history } : {}),
        ...(searchOptions.excludeMessageIds ? { excludeMessageIds: searchOptions.excludeMessageIds } : {}),
      });
    },
    listForUser(scope, listOptions) {
      const scopeId = findScopeId(scope);
      return scopeId === null ? [] : store.list(scopeId, listOptions);
    },
    exportUser(userId) {
      return {
        userId,
        exportedAt: clock.now().getTime(),
        scopes: store.scopesOfUser(userId).map((scope) => ({
          id: scope.id,
          characterId: scope.characterId,
          guildId: scope.guildId,
          memories: store.list(scope.id, { includeSuperseded: true, includeForgotten: true }),
        })),
      };
    },
    forgetUser(scope) {
      const scopeId = findScopeId(scope);
      return scopeId === null ? 0 : store.deleteScope(scopeId);
    },
    findScopeId,
    setForgotten(ids, at) {
      return store.setForgotten(ids, at === null ? null : toMs(at));
    },
    close() {
      return textSearch.close();
    },
  };
}
