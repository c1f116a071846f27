/**
 * `npm run bench:consolidation`: consolidating the whole MemoryBank data set (both languages) after importing it.
 * Twice: with a zero-latency in-process model (the job machinery's own overhead: planning, SQLite, embedding,
 * transactions) and with a 200 ms model at concurrency 4 (what a real catch-up's wall time is made of).
 * Skips cleanly when ../shared/data/memorybank is absent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CharacterCatalog } from '../src/characters/catalog.js';
import { createConsolidator } from '../src/consolidation/consolidator.js';
import { consolidationSettingsSchema } from '../src/consolidation/settings.js';
import { ManualClock } from '../src/core/clock.js';
import type { ChatModel, ChatRequest, ChatStreamPart, Embedder } from '../src/llm/types.js';
import { addDays, instantOfLocalTime } from '../src/memory/date-query.js';
import { importMemoryBank, readMemoryBankFile } from '../src/memory/import/memorybank-import.js';
import { createMemory } from '../src/memory/memory.js';
import { segmentText } from '../src/search/terms.js';
import { memorySettingsSchema } from '../src/memory/settings.js';
import { ConversationStore } from '../src/store/conversation-store.js';
import { openDatabase } from '../src/store/db.js';
import { setLogLevel } from '../src/util/logger.js';
import { defaultMemoryBankDir, loadMemoryBank, repositoryRoot } from './memorybank-data.js';

const timeZone = 'Asia/Shanghai';

/** Feature hashing over our own segmentation: no model needed, cheap enough not to dominate the measurement. */
function hashEmbedder(dimension = 256): Embedder {
  const hash = (text: string, seed: number) => {
    let value = 2166136261 ^ seed;
    for (const character of text) value = Math.imul(value ^ character.codePointAt(0)!, 16777619);
    return value >>> 0;
  };
  return {
    id: `bench:hash-${dimension}`,
    dimension,
    async embed(texts) {
      return texts.map((text) => {
        const vector = new Float32Array(dimension);
        for (const term of segmentText(text)) vector[hash(term, 0) % dimension]! += (hash(term, 1) & 1) === 0 ? 1 : -1;
        const norm = Math.hypot(...vector) || 1;
        return vector.map((value) => value / norm);
      });
    },
  };
}

/** Answers every consolidation prompt with valid JSON after `latencyMs`. */
function fakeModel(latencyMs: number): ChatModel & { calls: number } {
  const model = {
    provider: 'bench',
    modelId: `fake-${latencyMs}ms`,
    endpoint: 'in-process',
    calls: 0,
    async generate(request: ChatRequest) {
      model.calls++;
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      const system = request.messages[0]?.content ?? '';
      const said = (request.messages[1]?.content ?? '').split('\n').slice(-3).join(' ').slice(0, 300);
      const text = system.includes('"selfConcept"')
        ? JSON.stringify({ selfConcept: `I remember: ${said}` })
        : system.includes('"portrait"')
          ? JSON.stringify({ portrait: `Portrait: ${said}` })
          : system.includes('"events"')
            ? JSON.stringify({ summary: `Summary: ${said}`, events: [{ content: `Event: ${said.slice(0, 80)}` }], facts: [{ content: `Fact: ${said.slice(0, 60)}` }] })
            : JSON.stringify({ summary: `Rolling: ${said}` });
      return { text, finishReason: 'stop' };
    },
    async *stream(): AsyncIterable<ChatStreamPart> {
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
  return model;
}

interface Scenario {
  readonly label: string;
  readonly latencyMs: number;
  readonly concurrency: number;
}

async function runScenario(language: 'cn' | 'en', scenario: Scenario): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'omoide-consolidation-bench-'));
  try {
    const db = openDatabase(join(directory, 'omoide.db'));
    const file = join(defaultMemoryBankDir(), language, `memory_bank_${language}.json`);
    const lastDay = readMemoryBankFile(file).flatMap((person) => person.dialogue.map((turn) => turn.day)).sort().at(-1)!;
    const clock = new ManualClock(instantOfLocalTime(addDays(lastDay, 1), 12 * 60, timeZone));
    const memorySettings = memorySettingsSchema.parse({ timezone: timeZone });
    const memory = createMemory({ db, embedder: hashEmbedder(), settings: memorySettings, clock });
    await memory.ensureEmbeddingSpace();
    const store = new ConversationStore(db);
    const characters = new CharacterCatalog(join(repositoryRoot(), 'characters'), 'juniper');
    characters.reload();
    const character = characters.get(language === 'cn' ? 'xiaoman' : 'juniper')!;
    const imported = await importMemoryBank({
      db, store, memory, character, file, timeZone, platform: 'console', guildId: null, channelId: (name) => `dm:${name}`,
    });
    const chatModel = fakeModel(scenario.latencyMs);
    const consolidator = createConsolidator({
      db, memory, store, chatModel, characters, clock, memorySettings,
      settings: consolidationSettingsSchema.parse({ timezone: timeZone, concurrency: scenario.concurrency, requestsPerMinute: 0 }),
    });
    const started = performance.now();
    const result = await consolidator.runDue();
    const seconds = (performance.now() - started) / 1000;
    const summaries = (db.prepare(`SELECT count(*) AS n FROM memories WHERE kind = 'daily_summary'`).get() as { n: number }).n;
    console.log(
      `${language} ${scenario.label.padEnd(26)} users=${imported.people} turns=${imported.dialogueImported} ` +
        `jobs=${result.jobs} (done ${result.done}, failed ${result.failed}, skipped ${result.skipped}) llm calls=${chatModel.calls} ` +
        `summaries=${summaries} wall=${seconds.toFixed(2)} s  ${(result.jobs / seconds).toFixed(1)} jobs/s`,
    );
    db.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  setLogLevel('warn');
  if (loadMemoryBank() === null) {
    console.log(`consolidation bench skipped: no MemoryBank data at ${defaultMemoryBankDir()}`);
    return;
  }
  const scenarios: Scenario[] = [
    { label: 'zero-latency, concurrency 2', latencyMs: 0, concurrency: 2 },
    { label: '200 ms model, concurrency 4', latencyMs: 200, concurrency: 4 },
  ];
  for (const language of ['cn', 'en'] as const) {
    for (const scenario of scenarios) await runScenario(language, scenario);
  }
}

await main();
