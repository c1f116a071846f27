/**
 * The worker-thread side of text-search.ts: its own read-only connection to the database, answering BM25 lookups
 * with the same MemoryStore statement the main thread would run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openReadOnlyDatabase } from './db.js';
import { MemoryStore } from './memory-store.js';
import type { TextSearchReply, TextSearchRequest } from './text-search.js';

const port = parentPort;
if (!port) throw new Error('text-search-thread.js runs as a worker thread');
const store = new MemoryStore(openReadOnlyDatabase((workerData as { path: string }).path));

port.on('message', (request: TextSearchRequest) => {
  let reply: TextSearchReply;
  try {
    reply = { id: request.id, rows: store.textCandidates(request.scopeId, request.match, request.limit, request.range) };
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
