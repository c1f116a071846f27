/**
 * Long-term memory per person: the one facade the rest of omoide uses. A scope is (person, character, guild), its
 * guild decided by the `scope` setting (scope-keys.ts); nothing of one scope ever reaches another's prompt.
 *
 * What it offers: recall for the engine's memory providers (search, latestOfKind, strengthen), archiving of answered
 * turns (archiveTurn: written at once, embedded in the background), writes for importers and consolidation
 * (remember, prepareMany + writePrepared, supersede, setForgotten), reads for commands and exports, and the embedding
 * space's upkeep (ensureEmbeddingSpace, once at start). The parts live beside it: memory-writer.ts (validating,
 * embedding, writing), embedding-space.ts (spaces, re-embedding, the backlog), retrieval.ts (ranking).
 */
import type { Clock } from '../core/clock.js';
import type { HistoryLine } from '../core/turn.js';
import type { Embedder } from '../llm/types.js';
import type { SqliteDatabase } from '../store/db.js';
import { MemoryStore, type ListOptions, type MemoryKind, type MemoryRecord } from '../store/memory-store.js';
import { createTextSearch } from '../store/text-search.js';
import { createLogger, type Logger } from '../util/logger.js';
import { createEmbeddingSpaces, type EmbeddingSpaceReport, type ReembedProgress } from './embedding-space.js';
import { createMemoryWriter, type MemoryDraft, type PreparedMemory, type PreparedWrite, type Replacement, type TurnArchive } from './memory-writer.js';
import { retrieveMemories, type RetrievalResult } from './retrieval.js';
import { scopeKeys, type MemoryScopeKey } from './scope-keys.js';
import type { MemorySettings } from './settings.js';

export type { MemoryScopeKey } from './scope-keys.js';
export type { EmbeddingSpaceReport, ReembedProgress } from './embedding-space.js';
export type { MemoryDraft, PreparedMemory, PreparedWrite, Replacement, TurnArchive } from './memory-writer.js';

export interface RememberInput extends MemoryDraft {
  readonly scope: MemoryScopeKey;
}

/**
 * Who will read what is recalled: the person alone (a DM, the terminal) or a group. A group is not shown memories
 * said in private unless memory.privateInGroups allows it.
 */
export type RecallAudience = 'private' | 'group';

export interface SearchOptions {
  /** default 'private': everything of the scope */
  readonly audience?: RecallAudience;
  readonly limit?: number;
  /** the moment the question is asked; default the clock's now */
  readonly now?: Date | number;
  /** default true */
  readonly dateAware?: boolean;
  readonly history?: readonly HistoryLine[];
  readonly excludeMessageIds?: readonly number[];
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
  /**
   * Call once at start, before serving. Makes the active embedding space match the embedder; when the embedder
   * changed (id or dimension) it builds a new space, re-embeds every memory into it in batches (reporting progress),
   * switches atomically and drops the old vector table. An interrupted build resumes where it stopped. Memories
   * that a crash left without a vector are embedded then too.
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
  /**
   * Archives an answered turn as a 'turn' memory now, in one transaction, without its vector: it is searchable by
   * text at once and embedded in the background (idle() waits for that). An embedder that is down or a crash only
   * delays the vector.
   */
  archiveTurn(turn: TurnArchive): MemoryRecord;
  /** Stores an updated version of a memory (same scope and kind); the old one stays, pointing at the new one. */
  supersede(oldId: number, replacement: Replacement): Promise<MemoryRecord>;
  /** Ranked memories of one scope for a query (recall, /memory search, the benchmark), with ids and score parts. */
  search(scope: MemoryScopeKey, query: string, options?: SearchOptions): Promise<RetrievalResult>;
  /** Recalled memories made it into a prompt: each grows stronger (S + 1) and counts as recalled at `at`. */
  strengthen(ids: readonly number[], at: Date | number): void;
  /** The scope's newest current memory of a kind (its portrait, its self-concept) that `audience` may see, or null. */
  latestOfKind(scope: MemoryScopeKey, kind: MemoryKind, audience?: RecallAudience): MemoryRecord | null;
  /** One memory by id, whatever its scope (consolidation follows its own results), or null. */
  get(id: number): MemoryRecord | null;
  /** One scope's memories, newest first (/memory list). */
  listForUser(scope: MemoryScopeKey, options?: ListOptions): MemoryRecord[];
  /** Everything stored about a user, across all their scopes (a data export). */
  exportUser(userId: number): MemoryExport;
  /** Deletes every memory of the scope, with vectors and text index, in one transaction; returns how many. */
  forgetUser(scope: MemoryScopeKey): number;
  /** Deletes the scope's memories made from something said in the guild (a source there); returns how many. */
  forgetSourcedIn(scope: MemoryScopeKey, guildId: string): number;
  /** After deleting memories for good (an erase): their text terms leave the full-text index's pages too. */
  purgeDeletedText(): void;
  /** The resolved scope id, or null when nothing was ever stored for it. */
  findScopeId(scope: MemoryScopeKey): number | null;
  /** Forgetting jobs: mark memories forgotten (hidden from retrieval) or restore them with `at` = null. */
  setForgotten(ids: readonly number[], at: Date | number | null): number;
  /** Resolves when the background embedding of archived turns has caught up. */
  idle(): Promise<void>;
  /** Waits for the background embedding, then stops the text search thread; call before closing the database. */
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
  const spaces = createEmbeddingSpaces({ db, store, embedder, clock, batchSize: settings.reembedBatchSize, logger });
  const writer = createMemoryWriter({ db, store, spaces, settings, clock });
  const textSearch = createTextSearch(db, store, logger);
  const retrievalContext = { store, textSearch, embedder, settings, vectors: spaces.searchable, logger };
  let closed = false;

  const showsPrivate = (audience: RecallAudience = 'private') => audience === 'private' || settings.privateInGroups;
  const findScopeId = (scope: MemoryScopeKey) =>
    store.findScope(scope.userId, scope.characterId, scopeKeys(settings.scope, scope).guildKey);

  let embedderDown = false;
  /**
   * Embeds the backlog in the background; a failure waits for the next turn (or the next start) to try again. An
   * outage is logged when it starts and when it ends, not at every turn in between.
   */
  function embedInBackground(): void {
    if (closed) return;
    spaces.drainBacklog().then(
      () => {
        if (embedderDown) logger.info('the embedder answers again; archived turns are embedded', { embedder: embedder.id });
        embedderDown = false;
      },
      (error: unknown) => {
        if (!embedderDown) logger.warn('archived turns wait for their vectors: embedding failed', { embedder: embedder.id, error });
        embedderDown = true;
      },
    );
  }

  async function settle(): Promise<void> {
    await spaces.drainBacklog().catch(() => 0);
  }

  async function rememberMany(inputs: readonly RememberInput[]): Promise<MemoryRecord[]> {
    const prepared = await writer.prepareMany(inputs);
    return writer.writePrepared(prepared.map((memory, index) => ({ scope: inputs[index]!.scope, memory })));
  }

  return {
    async ensureEmbeddingSpace(onProgress) {
      const report = await spaces.ensure(onProgress);
      // Turns a crash left without a vector; an embedder that is down now only delays them.
      await spaces.drainBacklog({ fresh: true }).catch((error: unknown) => logger.warn('archived turns wait for their vectors', { embedder: embedder.id, error }));
      return report;
    },
    async remember(input) {
      const [record] = await rememberMany([input]);
      return record!;
    },
    rememberMany,
    prepareMany: writer.prepareMany,
    writePrepared: writer.writePrepared,
    archiveTurn(turn) {
      const record = writer.archiveTurn(turn);
      embedInBackground();
      return record;
    },
    supersede: writer.supersede,
    async search(scope, query, searchOptions = {}) {
      const scopeId = findScopeId(scope);
      if (scopeId === null) return { memories: [], dateRange: null, narrowedToRange: false };
      return retrieveMemories(retrievalContext, {
        scopeId,
        query,
        now: toMs(searchOptions.now ?? clock.now()),
        includePrivate: showsPrivate(searchOptions.audience),
        ...(searchOptions.limit !== undefined ? { limit: searchOptions.limit } : {}),
        ...(searchOptions.dateAware !== undefined ? { dateAware: searchOptions.dateAware } : {}),
        ...(searchOptions.history ? { history: searchOptions.history } : {}),
        ...(searchOptions.excludeMessageIds ? { excludeMessageIds: searchOptions.excludeMessageIds } : {}),
      });
    },
    strengthen(ids, at) {
      store.strengthen(ids, toMs(at));
    },
    latestOfKind(scope, kind, audience) {
      const scopeId = findScopeId(scope);
      return scopeId === null ? null : store.latestOfKind(scopeId, kind, showsPrivate(audience));
    },
    get(id) {
      return store.get(id);
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
    forgetSourcedIn(scope, guildId) {
      const scopeId = findScopeId(scope);
      return scopeId === null ? 0 : store.deleteMemories(store.idsSourcedInGuild(scopeId, guildId));
    },
    purgeDeletedText() {
      store.purgeDeletedText();
    },
    findScopeId,
    setForgotten(ids, at) {
      return store.setForgotten(ids, at === null ? null : toMs(at));
    },
    idle: settle,
    async close() {
      closed = true;
      await settle();
      await textSearch.close();
    },
  };
}
