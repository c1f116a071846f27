/**
 * The memories' embedding space: vectors are only ever compared with vectors of the same embedder. At start the
 * active space must match the embedder (id, dimension, storage layout); when it does not, a new space is built — every
 * memory re-embedded in batches, resumable — and switched to atomically. While serving, memories written without a
 * vector (archived turns) are embedded from the backlog in the background, one drain at a time.
 */
import type { Clock } from '../core/clock.js';
import { StoreError } from '../core/errors.js';
import type { Embedder } from '../llm/types.js';
import type { SqliteDatabase } from '../store/db.js';
import { EmbeddingSpaceStore, vectorLayout, type EmbeddingSpace } from '../store/embedding-space-store.js';
import type { MemoryStore, MemoryText } from '../store/memory-store.js';
import type { VectorTable } from '../store/vector-table.js';
import type { Logger } from '../util/logger.js';

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

export interface EmbeddingSpaces {
  /** Where new vectors go: the embedder's space, active or still building. Throws before ensure() made one. */
  writable(): VectorTable;
  /** The active space's table when it belongs to the embedder; otherwise null, and vector search is skipped, never mixed. */
  searchable(): VectorTable | null;
  /** The embedder's document vectors for `texts`, checked for count and length. */
  embedDocuments(texts: readonly string[]): Promise<Float32Array[]>;
  ensure(onProgress?: (progress: ReembedProgress) => void): Promise<EmbeddingSpaceReport>;
  /**
   * Embeds what waits in the backlog (see memory-store.ts) into the writable space, in batches; resolves with how
   * many were embedded. One drain at a time: a call during a drain joins it, then drains again for what came since.
   * An embedder that is down leaves the rest waiting for the next drain; a text it keeps refusing is left for the
   * next start (`fresh`: every waiting text gets its tries again, as at start).
   */
  drainBacklog(options?: { readonly fresh?: boolean }): Promise<number>;
}

export interface EmbeddingSpacesOptions {
  readonly db: SqliteDatabase;
  readonly store: MemoryStore;
  readonly embedder: Embedder;
  readonly clock: Clock;
  readonly batchSize: number;
  readonly logger: Logger;
}

export function createEmbeddingSpaces(options: EmbeddingSpacesOptions): EmbeddingSpaces {
  const { store, embedder, clock, batchSize, logger } = options;
  // Small batches: the backlog is embedded while replies are being answered.
  const backlogBatchSize = Math.min(batchSize, 16);
  // A text the embedder refused this many times (while it took others) waits for the next start.
  const maxBacklogAttempts = 3;
  const spaceStore = new EmbeddingSpaceStore(options.db);
  let ensuring: Promise<EmbeddingSpaceReport> | null = null;
  let draining: Promise<number> | null = null;
  let drainAgain = false;

  const matchesEmbedder = (space: EmbeddingSpace) =>
    space.embedderId === embedder.id && space.dimension === embedder.dimension && space.layout === vectorLayout;

  function writable(): VectorTable {
    const space = spaceStore.spaces().find((candidate) => candidate.state !== 'retired' && matchesEmbedder(candidate));
    if (!space) {
      throw new StoreError(`memory has no embedding space for embedder ${embedder.id} (${embedder.dimension} dimensions); call ensureEmbeddingSpace() at start`);
    }
    return spaceStore.vectors(space);
  }

  function searchable(): VectorTable | null {
    const active = spaceStore.activeSpace();
    return active && matchesEmbedder(active) ? spaceStore.vectors(active) : null;
  }

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

  async function build(onProgress?: (progress: ReembedProgress) => void): Promise<EmbeddingSpaceReport> {
    const spaces = spaceStore.spaces();
    const active = spaces.find((space) => space.state === 'active');
    if (active && matchesEmbedder(active)) return { space: active, rebuilt: false, embedded: 0 };
    // An unfinished build for another embedder is abandoned; one for ours resumes.
    for (const space of spaces) {
      if (space.state === 'building' && !matchesEmbedder(space)) spaceStore.dropSpace(space.id);
    }
    const building =
      spaces.find((space) => space.state === 'building' && matchesEmbedder(space)) ??
      spaceStore.createSpace(embedder.id, embedder.dimension, clock.now().getTime());
    const table = spaceStore.vectors(building);
    if (active) {
      const reason = active.layout === vectorLayout ? 'the embedder changed' : 'the vector layout changed';
      logger.info(`${reason}; re-embedding every memory`, { from: active.embedderId, to: embedder.id });
    }
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
      const missing = batch.filter((row) => !table.has(row.id));
      const vectors = await embedDocuments(missing.map((row) => row.content));
      store.insertVectors(table, missing.map((row, index) => ({ ...row, vector: vectors[index]! })));
      embedded += missing.length;
      done += batch.length;
      total = Math.max(total, done);
      onProgress?.({ embedderId: embedder.id, done, total });
    }
    spaceStore.activateSpace(building.id);
    const space = spaceStore.activeSpace()!;
    logger.info('embedding space ready', { embedder: embedder.id, dimension: embedder.dimension, embedded });
    return { space, rebuilt: true, embedded };
  }

  /**
   * Embeds one batch of the backlog. When the batch fails, item by item tells an embedder that is down (nothing
   * goes: the error is thrown, the backlog waits) from one text it refuses (the others go; that one counts a try).
   */
  async function embedBatch(batch: readonly MemoryText[]): Promise<number> {
    try {
      const vectors = await embedDocuments(batch.map((row) => row.content));
      // resolved after embedding: the space may have switched meanwhile
      store.insertVectors(writable(), batch.map((row, index) => ({ ...row, vector: vectors[index]! })));
      return batch.length;
    } catch (batchError) {
      let embedded = 0;
      const refused: MemoryText[] = [];
      for (const row of batch) {
        try {
          const [vector] = await embedDocuments([row.content]);
          store.insertVectors(writable(), [{ ...row, vector: vector! }]);
          embedded++;
        } catch {
          refused.push(row); // counted below, once it is clear the embedder itself works
        }
      }
      if (embedded === 0) throw batchError;
      for (const row of refused) {
        if (store.backlogFailed(row.id) >= maxBacklogAttempts) {
          logger.warn('a memory could not be embedded; it stays searchable by text', { memory: row.id, embedder: embedder.id });
        }
      }
      return embedded;
    }
  }

  async function drainOnce(): Promise<number> {
    let embedded = 0;
    let cursor = 0;
    for (;;) {
      const batch = store.backlog(cursor, maxBacklogAttempts, backlogBatchSize);
      if (batch.length === 0) return embedded;
      cursor = batch.at(-1)!.id;
      embedded += await embedBatch(batch);
      // An in-process embedder works on this thread: between batches, messages waiting to be answered go first.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  function drainBacklog(options: { readonly fresh?: boolean } = {}): Promise<number> {
    if (options.fresh) store.resetBacklogAttempts();
    if (draining) {
      drainAgain = true;
      return draining;
    }
    const run = async (): Promise<number> => {
      let embedded = 0;
      do {
        drainAgain = false;
        embedded += await drainOnce();
      } while (drainAgain);
      return embedded;
    };
    draining = run().finally(() => {
      draining = null;
    });
    return draining;
  }

  return {
    writable,
    searchable,
    embedDocuments,
    ensure(onProgress) {
      ensuring ??= build(onProgress).finally(() => {
        ensuring = null;
      });
      return ensuring;
    },
    drainBacklog,
  };
}
