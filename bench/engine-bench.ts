/**
 * `npm run bench`: the engine's own overhead per message — store, history, prompt layout, reply post-processing,
 * everything but the LLM call — with a zero-latency in-process model, at 1k and 100k stored messages; first alone,
 * then with the memory's recall and archiving (measured in depth by `npm run bench:memory`).
 * Target (2-core machine): p50 <= 2 ms, p99 <= 10 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { App } from '../src/app.js';
import { createApp, engineSettingsOf } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { IncomingMessage } from '../src/core/message.js';
import type { Engine } from '../src/engine/engine.js';
import { createEngine } from '../src/engine/engine.js';
import { createLorebookProvider } from '../src/engine/providers/lorebook-provider.js';
import { createWorldProvider } from '../src/engine/providers/world-provider.js';
import type { Embedder } from '../src/llm/types.js';
import { createEmbedder } from '../src/memory/create-embedder.js';
import { setLogLevel } from '../src/util/logger.js';
import { sampleSentences, zeroLatencyModel } from './zero-latency-model.js';
import { formatMs, summarize } from './stats.js';



/** How far away the embedder is in the third pass: a round trip to an embedding server on the local network. */
const remoteEmbedderMs = 15;

type Setup = 'engine alone' | 'engine + memory' | 'engine + memory, embedder 15 ms away';

/** The builtin embedder behind a delay, as a remote one (OpenAI-compatible, Ollama) answers. */
function remote(embedder: Embedder): Embedder {
  return {
    id: embedder.id,
    dimension: embedder.dimension,
    async embed(texts, options) {
      await new Promise((resolve) => setTimeout(resolve, remoteEmbedderMs));
      return embedder.embed(texts, options);
    },
  };
}

/** The same engine as the app's, with or without the memory's providers and turn archiving. */
function engineOf(app: App, withMemory: boolean): Engine {
  if (withMemory) return app.engine;
  const { config } = app;
  return createEngine({
    store: app.store,
    characters: app.characters,
    chatModel: zeroLatencyModel,
    translator: app.translator,
    clock: app.clock,
    settings: engineSettingsOf(config),
    contextProviders: [createWorldProvider(app.characters), createLorebookProvider(app.characters, { budgetTokens: config.prompt.budgets.lorebook })],
  });
}

async function measure(storedMessages: number, samples: number, setup: Setup): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'omoide-bench-'));
  // No config file in an empty folder: the defaults, with the data in that folder.
  const config = loadConfig({ env: { OMOIDE_DATA_DIR: directory }, cwd: directory });
  const withMemory = setup !== 'engine alone';
  const builtin = await createEmbedder(config.memory.embedder, config.llm);
  const embedder = setup === 'engine + memory' || setup === 'engine alone' ? builtin : remote(builtin);
  const app = await createApp(config, { chatModel: zeroLatencyModel, embedder });
  try {
    // 100 users × their own channels, plus the measured channel; all inserted through the store's own writes.
    const seedPerChannel = Math.floor(storedMessages / 100);
    const start = Date.UTC(2024, 0, 1);
    app.db.transaction(() => {
      for (let channel = 0; channel < 100; channel++) {
        for (let i = 0; i < seedPerChannel; i++) {
          app.store.recordUserMessage({
            conversation: { platform: 'bench', guildId: 'g', channelId: `c${channel}`, characterId: app.characters.defaultCharacter().id },
            platformUserId: `u${channel}`,
            displayName: `User ${channel}`,
            content: sampleSentences[i % sampleSentences.length]!,
            tokenCount: 20,
            platformMessageId: null,
            createdAt: start + i * 60_000,
          });
        }
      }
    })();
    const message = (i: number): IncomingMessage => ({
      platform: 'bench',
      guildId: 'g',
      channelId: 'c0',
      messageId: `m${i}`,
      author: { id: 'u0', displayName: 'User 0' },
      text: sampleSentences[i % sampleSentences.length]!,
      addressing: { mentioned: true, repliedToBot: false, direct: false },
      replyTo: null,
      timestamp: new Date(start + (seedPerChannel + i) * 60_000),
    });
    const engine = engineOf(app, withMemory);
    // As the adapter runtime does: the channel's character resolved once, then the answer.
    const answer = (m: IncomingMessage) => engine.answer(m, { character: engine.characterFor(m.platform, m.guildId, m.channelId) });
    for (let i = 0; i < 200; i++) await answer(message(i)); // warm up the JIT and SQLite's cache
    const timings: number[] = [];
    for (let i = 200; i < 200 + samples; i++) {
      const began = performance.now();
      await answer(message(i));
      timings.push(performance.now() - began);
    }
    // Archived turns are embedded in the background: the run is over when they are.
    await app.memory.idle();
    const { p50, p95, p99, mean } = summarize(timings);
    const total = app.store.messageCount();
    console.log(
      `${setup.padEnd(36)} | ${String(total).padStart(7)} stored messages | ${samples} messages | p50 ${formatMs(p50)} | p95 ${formatMs(p95)} | p99 ${formatMs(p99)} | mean ${formatMs(mean)}`,
    );
  } finally {
    await app.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

setLogLevel('warn');
console.log('engine overhead per message (zero-latency model; store + history + prompt + reply), target p50 <= 2 ms, p99 <= 10 ms');
console.log('"engine + memory" adds, per message, recalling the speaker\'s memories (builtin embedder, vector + full-text search)');
console.log('and archiving the turn as a new memory (written at once, embedded in the background, which shares this thread);');
console.log('the measured person accumulates 2,200 memories during the run. The last pass puts the embedder 15 ms away, as');
console.log('a remote one is: the query is embedded on the reply path, the archived turn is not.');
for (const setup of ['engine alone', 'engine + memory'] as const) {
  await measure(1_000, 2_000, setup);
  await measure(100_000, 2_000, setup);
}
await measure(1_000, 300, 'engine + memory, embedder 15 ms away');
