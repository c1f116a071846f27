/**
 * BM25 lookups for retrieval, on a second thread. better-sqlite3 is synchronous, so on one thread a turn's vector
 * search and text search run one after the other; they are independent, and each costs a few milliseconds at 10k
 * memories per person. Run in a worker with its own read-only connection, the text search overlaps the query's
 * embedding and the vector search on the main thread (WAL lets readers run beside the writer, and every write of
 * the main thread is committed before the next lookup starts, so the worker sees what the main thread sees).
 *
 * When the worker cannot run (an in-memory database, no compiled worker file, a crash) the same lookup runs inline:
 * a failed thread costs speed, never an answer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../util/logger.js';
import { packageRoot } from '../util/paths.js';
import type { SqliteDatabase } from './db.js';
import type { DayRangeFilter, MemoryStore } from './memory-store.js';

export interface TextCandidate {
  readonly id: number;
  readonly score: number;
}

export interface TextSearch {
  /** MemoryStore.textCandidates, possibly answered by another thread. Never rejects for a thread's failure. */
  candidates(scopeId: number, match: string, limit: number, range?: DayRangeFilter): Promise<TextCandidate[]>;
  /** whether lookups go to the worker thread (false once it failed or was closed, and for inline searches) */
  threaded(): boolean;
  close(): Promise<void>;
}

export interface TextSearchRequest {
  readonly id: number;
  readonly scopeId: number;
  readonly match: string;
  readonly limit: number;
  readonly range: DayRangeFilter | undefined;
}

export type TextSearchReply = { readonly id: number; readonly rows: TextCandidate[] } | { readonly id: number; readonly error: string };

export function inlineTextSearch(store: MemoryStore): TextSearch {
  return {
    async candidates(scopeId, match, limit, range) {
      return store.textCandidates(scopeId, match, limit, range);
    },
    threaded: () => false,
    async close() {},
  };
}

/**
 * The compiled worker file. Running from dist/ it sits beside this module; under the test runner this module is
 * TypeScript source, and the worker runs the build in dist/ (`npm test` compiles first).
 */
function workerFile(): string | null {
  const here = fileURLToPath(import.meta.url);
  const candidate = here.endsWith('.ts') ? join(packageRoot, 'dist', 'src', 'store', 'text-search-thread.js') : join(here, '..', 'text-search-thread.js');
  return existsSync(candidate) ? candidate : null;
}

/** A worker-backed TextSearch for a file database (started on first use), or the inline one when none can run. */
export function createTextSearch(db: SqliteDatabase, store: MemoryStore, logger: Logger): TextSearch {
  const inline = inlineTextSearch(store);
  const file = db.memory ? null : workerFile();
  if (!file) return inline;

  let worker: Worker | null = null;
  let failed = false;
  let nextId = 1;
  const pending = new Map<number, { resolve: (rows: TextCandidate[]) => void; fallback: () => void }>();

  const giveUp = (reason: string, error?: unknown) => {
    if (failed) return;
    failed = true;
    logger.warn(`text search thread ${reason}; searching on the main thread`, error === undefined ? {} : { error });
    const waiting = [...pending.values()];
    pending.clear();
    const stopping = worker;
    worker = null;
    void stopping?.terminate();
    for (const request of waiting) request.fallback();
  };

  const start = (): Worker => {
    const started = new Worker(file, { workerData: { path: db.name } });
    started.on('message', (reply: TextSearchReply) => {
      const request = pending.get(reply.id);
      if (!request) return;
      pending.delete(reply.id);
      if (pending.size === 0) started.unref();
      if ('rows' in reply) request.resolve(reply.rows);
      else {
        logger.warn('text search failed on its thread; retrying on the main thread', { error: reply.error });
        request.fallback();
      }
    });
    started.on('error', (error) => giveUp('failed', error));
    started.on('exit', (code) => {
      if (worker === started) giveUp(`exited (code ${code})`);
    });
    started.unref();
    return started;
  };

  return {
    candidates(scopeId, match, limit, range) {
      if (failed) return inline.candidates(scopeId, match, limit, range);
      worker ??= start();
      const id = nextId++;
      const request: TextSearchRequest = { id, scopeId, match, limit, range: range && { from: range.from, to: range.to } };
      return new Promise<TextCandidate[]>((resolve, reject) => {
        const fallback = () => inline.candidates(scopeId, match, limit, range).then(resolve, reject);
        pending.set(id, { resolve, fallback });
        // Held while a lookup is in flight, so an awaiting caller's process does not exit under it.
        worker!.ref();
        try {
          worker!.postMessage(request);
        } catch (error) {
          pending.delete(id);
          giveUp('could not be reached', error);
          fallback();
        }
      });
    },
    threaded: () => !failed,
    async close() {
      failed = true;
      const stopping = worker;
      worker = null;
      const waiting = [...pending.values()];
      pending.clear();
      for (const request of waiting) request.fallback();
      await stopping?.terminate();
    },
  };
}
