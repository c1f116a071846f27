/**
 * `npm run bench:soak`: 50,000 messages through the adapter runtime, the engine and memory (retrieval, archiving,
 * background embedding) from 1,000 people over 50 channels, with a zero-latency model and a cooldown on, as a long
 * day of a busy bot would go. Every 5,000 messages it prints the process's memory (RSS, heap after a full GC) and the
 * size of every in-memory collection the runtime keeps, which must stop growing. Run with `--expose-gc` (the npm
 * script does) so the heap figures are after collection. `--quick` sends 10,000.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { IncomingMessage } from '../src/core/message.js';
import { runtimeFor } from '../src/main.js';
import { setLogLevel } from '../src/util/logger.js';
import { sampleSentences, zeroLatencyModel } from './zero-latency-model.js';

const total = process.argv.includes('--quick') ? 10_000 : 50_000;
const checkpoint = total / 10;
const people = 1000;
const channels = 50;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const collect = (globalThis as { gc?: () => void }).gc;

setLogLevel('error');
const directory = mkdtempSync(join(tmpdir(), 'omoide-soak-'));
writeFileSync(join(directory, 'config.yaml'), 'consolidation:\n  enabled: false\n');
const config = loadConfig({ env: { OMOIDE_DATA_DIR: directory }, cwd: directory });
const app = await createApp(config, { chatModel: zeroLatencyModel });
// RSS includes the database pages SQLite maps and caches (mmap_size, cache_size in db.ts): it follows the file's size.
const fileSize = (path: string) => statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
const runtime = runtimeFor(app, 'discord', { cooldownMs: 2000 });
runtime.start();
let sent = 0;
let delivered = 0;
const outlet = { messageLimit: 2000, send: async () => void delivered++ };
const started = Date.now();

function measure(label: string): void {
  collect?.();
  const usage = process.memoryUsage();
  const stats = runtime.stats();
  console.log(
    `${label.padEnd(14)} | rss ${mib(usage.rss).padStart(10)} | heap ${mib(usage.heapUsed).padStart(9)} | ` +
      `runtime: in flight ${stats.inFlight}, channels queued ${stats.channelsQueued}, cooldown people ${String(stats.cooldownPeople).padStart(4)} | ` +
      `answered ${delivered} | stored messages ${app.store.messageCount()} | database ${mib(fileSize(config.databasePath))} | ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}

console.log(`soak: ${total} messages from ${people} people over ${channels} channels through runtime + engine + memory (zero-latency model)`);
console.log(`heap figures are ${collect ? 'after a full GC' : 'WITHOUT a GC (run with node --expose-gc)'}; the collections must stop growing`);
measure('start');
// 10 messages in flight at a time, a few seconds apart per person (some fall in the cooldown, as in a real group).
const inFlight = new Set<Promise<void>>();
while (sent < total) {
  const index = sent++;
  const person = (index * 7919) % people;
  const message: IncomingMessage = {
    platform: 'discord', guildId: 'soak', channelId: `c${index % channels}`, messageId: `m${index}`,
    author: { id: `p${person}`, displayName: `Person ${person}` },
    text: sampleSentences[index % sampleSentences.length]!,
    addressing: { mentioned: true, repliedToBot: false, direct: false }, replyTo: null,
    timestamp: new Date(Date.UTC(2024, 0, 1) + index * 700),
  };
  const work = runtime.receive(message, outlet);
  inFlight.add(work);
  void work.finally(() => inFlight.delete(work));
  if (inFlight.size >= 10) await Promise.race(inFlight);
  if (sent % checkpoint === 0) {
    await Promise.all(inFlight);
    await app.memory.idle();
    measure(`${sent} msgs`);
  }
}
await runtime.stop();
await app.close();
rmSync(directory, { recursive: true, force: true });
