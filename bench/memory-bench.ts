/**
 * `npm run bench:memory` — issue 3's figures:
 *
 * (a) recall@1/3/5 on MemoryBank's probing questions (../shared/data/memorybank, skipped when absent): each bank is
 *     imported with the real importer, each question asked as its user the day after their last conversation, and
 *     the recalled memories packed into the memory section (1,500 tokens, the prompt module's own packing). A probe
 *     is a hit at k when a memory made from a hand-labelled evidence turn is among the first k packed items.
 * (b) retrieval latency p50/p95 at 10k, 100k and 1M memories (about 10k per person), with the query's embedding
 *     excluded (a precomputed vector) and included (the builtin embedder).
 * (c) database size per 100k memories, and the vectors' share of it.
 *
 *   node dist/bench/memory-bench.js [--sizes 10k,100k,1m] [--skip-recall] [--skip-latency] [--misses N] [--settings JSON]
 */
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CharacterCatalog } from '../src/characters/catalog.js';
import type { Character } from '../src/characters/character.js';
import { consoleChannelId, consolePlatform } from '../src/adapters/console/console-chat.js';
import { ManualClock } from '../src/core/clock.js';
import { packItems } from '../src/core/prompt.js';
import { createBuiltinEmbedder } from '../src/llm/builtin/ngram-embedder.js';
import type { Embedder } from '../src/llm/types.js';
import { addDays, instantOfLocalTime } from '../src/memory/date-query.js';
import { importMemoryBank } from '../src/memory/import/memorybank-import.js';
import type { Memory, PreparedMemory, PreparedWrite } from '../src/memory/memory.js';
import { createMemory } from '../src/memory/memory.js';
import { formatMemoryItem } from '../src/memory/retrieval.js';
import { memorySettingsSchema } from '../src/memory/settings.js';
import { ConversationStore } from '../src/store/conversation-store.js';
import { openDatabase, type SqliteDatabase } from '../src/store/db.js';
import { setLogLevel } from '../src/util/logger.js';
import { shippedCharactersDirectory } from '../src/util/paths.js';
import { defaultMemoryBankDir, loadMemoryBank, type Bank, type MemoryBankLanguage } from './memorybank-data.js';
import { formatMs, summarize } from './stats.js';

const memoryBudgetTokens = 1500;
const timeZone = 'UTC';

interface Arguments {
  sizes: number[];
  recall: boolean;
  latency: boolean;
  misses: number;
  /** memory settings to try, as JSON merged over the defaults (e.g. '{"retrieval":{"limit":12}}') */
  settings: Record<string, unknown>;
}

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!match) throw new Error(`--sizes: "${text}" is not a size like 10k or 1m`);
  const scale = { '': 1, k: 1_000, m: 1_000_000 }[match[2]!.toLowerCase() as '' | 'k' | 'm'];
  return Math.round(Number(match[1]) * scale);
}

function parseArguments(argv: readonly string[]): Arguments {
  const parsed: Arguments = { sizes: [10_000, 100_000, 1_000_000], recall: true, latency: true, misses: 0, settings: {} };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    if (flag === '--sizes') parsed.sizes = argv[++index]!.split(',').map(parseSize).sort((a, b) => a - b);
    else if (flag === '--skip-recall') parsed.recall = false;
    else if (flag === '--skip-latency') parsed.latency = false;
    else if (flag === '--misses') parsed.misses = Number(argv[++index]);
    else if (flag === '--settings') parsed.settings = JSON.parse(argv[++index]!) as Record<string, unknown>;
    else throw new Error(`unknown argument ${flag}`);
  }
  return parsed;
}

function openBenchDatabase(prefix: string): { directory: string; path: string; db: SqliteDatabase } {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  const path = join(directory, 'omoide.db');
  return { directory, path, db: openDatabase(path) };
}

// ---- (a) recall on MemoryBank ----

interface RecallTally {
  probes: number;
  withoutEvidence: number;
  hits: [number, number, number];
  sectionTokens: number;
  misses: string[];
}

async function recallFor(language: MemoryBankLanguage, bank: Bank, character: Character, missesToShow: number): Promise<RecallTally> {
  const { directory, db } = openBenchDatabase(`omoide-recall-${language}-`);
  try {
    const clock = new ManualClock(Date.UTC(2023, 5, 1));
    const settings = memorySettingsSchema.parse({ ...args.settings, timezone: timeZone });
    const memory = createMemory({ db, embedder: createBuiltinEmbedder(), settings, clock });
    await memory.ensureEmbeddingSpace();
    const store = new ConversationStore(db);
    await importMemoryBank({
      db, store, memory, character, timeZone,
      file: join(defaultMemoryBankDir(), language, `memory_bank_${language}.json`),
      platform: consolePlatform, guildId: null, channelId: consoleChannelId,
    });
    const messageIdOf = db.prepare<[string, string, string], { id: number }>(`
      SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE c.platform = 'console' AND c.channel_id = ? AND c.character_id = ? AND m.platform_message_id = ?`);

    const tally: RecallTally = { probes: 0, withoutEvidence: 0, hits: [0, 0, 0], sectionTokens: 0, misses: [] };
    for (const probe of bank.probes) {
      if (probe.evidence.length === 0) {
        tally.withoutEvidence++;
        continue;
      }
      const user = bank.users.find((candidate) => candidate.user === probe.user)!;
      const userId = store.findUserId(consolePlatform, probe.user)!;
      const evidenceIds = new Set(
        probe.evidence.map(({ date, turn }) => messageIdOf.get(consoleChannelId(probe.user), character.id, `memorybank:${date}#${turn + 1}`)!.id),
      );
      // Asked in a new session, at noon the day after the person's last conversation.
      const now = instantOfLocalTime(addDays(user.days.at(-1)!.date, 1), 12 * 60, timeZone);
      const result = await memory.search({ userId, characterId: character.id, guildId: null }, probe.question, { now });
      const items = result.memories.map((item) => formatMemoryItem(item.record));
      const packed = packItems('memories', items, memoryBudgetTokens);
      tally.sectionTokens += packed.report.tokens;
      const packedRecords = packed.kept.map((index) => result.memories[index]!.record);
      const firstHit = packedRecords.findIndex((record) => record.sourceMessageIds.some((id) => evidenceIds.has(id)));
      tally.probes++;
      [1, 3, 5].forEach((k, slot) => {
        if (firstHit >= 0 && firstHit < k) tally.hits[slot] = tally.hits[slot]! + 1;
      });
      if ((firstHit < 0 || firstHit >= 5) && tally.misses.length < missesToShow) {
        const evidence = probe.evidence.map(({ date, turn }) => `${date}#${turn}`).join(', ');
        const got = packedRecords.slice(0, 3).map((record) => `      got [${record.day}] ${record.content.split('\n')[0]!.slice(0, 80)}`);
        tally.misses.push(`  ${probe.user}: ${probe.question}  (evidence ${evidence}; first hit ${firstHit < 0 ? 'none' : firstHit + 1})\n${got.join('\n')}`);
      }
    }
    return tally;
  } finally {
    db.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function recallReport(missesToShow: number): Promise<void> {
  const data = loadMemoryBank();
  if (!data) {
    console.log(`(a) recall: skipped — no MemoryBank data at ${defaultMemoryBankDir()}`);
    return;
  }
  const catalog = new CharacterCatalog(shippedCharactersDirectory, 'juniper');
  catalog.reload();
  const characters: Record<MemoryBankLanguage, Character> = { cn: catalog.get('xiaoman')!, en: catalog.get('juniper')! };
  console.log(`(a) recall@k on MemoryBank probing questions — builtin embedder + BM25, memory section ${memoryBudgetTokens} tokens`);
  const total: RecallTally = { probes: 0, withoutEvidence: 0, hits: [0, 0, 0], sectionTokens: 0, misses: [] };
  for (const language of ['cn', 'en'] as const) {
    const tally = await recallFor(language, data[language], characters[language], missesToShow);
    const rate = (hits: number) => (hits / tally.probes).toFixed(3);
    console.log(
      `    ${language}  probes ${tally.probes} (+${tally.withoutEvidence} with no evidence in the history, excluded)` +
        `  recall@1 ${rate(tally.hits[0])}  @3 ${rate(tally.hits[1])}  @5 ${rate(tally.hits[2])}` +
        `  mean section ${Math.round(tally.sectionTokens / tally.probes)} tokens`,
    );
    if (tally.misses.length > 0) console.log(`    misses (${language}):\n${tally.misses.join('\n')}`);
    total.probes += tally.probes;
    total.withoutEvidence += tally.withoutEvidence;
    total.sectionTokens += tally.sectionTokens;
    tally.hits.forEach((hits, slot) => (total.hits[slot] = total.hits[slot]! + hits));
  }
  const rate = (hits: number) => (hits / total.probes).toFixed(3);
  console.log(
    `    all probes ${total.probes}  recall@1 ${rate(total.hits[0])}  @3 ${rate(total.hits[1])}  @5 ${rate(total.hits[2])}` +
      `  (target @5 >= 0.9)  mean section ${Math.round(total.sectionTokens / total.probes)} tokens`,
  );
}

// ---- (b) latency and (c) size at scale ----

const people = ['Mia', 'Leo', '小雨', '阿杰', 'Nora', '老周', 'Ivy', '思远'];
const zhPlaces = ['公园', '图书馆', '江边', '菜市场', '咖啡店', '地铁站', '老街', '山顶', '海边', '博物馆', '健身房', '书店'];
const zhThings = ['樱花', '小猫', '旧书', '雨伞', '风筝', '蛋糕', '吉他', '相机', '自行车', '围巾', '茶叶', '明信片'];
const zhFeelings = ['很开心', '有点累', '特别感动', '很紧张', '挺无聊', '非常满足', '有些失落', '很兴奋'];
const enPlaces = ['park', 'library', 'river', 'market', 'cafe', 'station', 'museum', 'gym', 'beach', 'bakery', 'garden', 'office'];
const enThings = ['violin', 'puppy', 'novel', 'umbrella', 'kite', 'cake', 'guitar', 'camera', 'bicycle', 'scarf', 'tea', 'postcard'];
const enFeelings = ['happy', 'tired', 'moved', 'nervous', 'bored', 'content', 'lonely', 'excited'];

/** A small deterministic generator (mulberry32), so every run fills the same texts. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function syntheticTurn(random: () => number, serial: number): string {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const name = pick(people);
  if (random() < 0.5) {
    return `${name}: 今天去了${pick(zhPlaces)}，买了${pick(zhThings)}，感觉${pick(zhFeelings)}，第${serial % 97}次了\n小满: 听起来${pick(zhFeelings)}呀，${pick(zhThings)}怎么样？`;
  }
  return `${name}: I went to the ${pick(enPlaces)} and found a ${pick(enThings)}, feeling ${pick(enFeelings)} (visit ${serial % 97})\nJune: A ${pick(enThings)}? Tell me more about the ${pick(enPlaces)}.`;
}

function syntheticQuery(random: () => number): string {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  return random() < 0.5 ? `你还记得我在${pick(zhPlaces)}买的${pick(zhThings)}吗？` : `Do you remember the ${pick(enThings)} from the ${pick(enPlaces)}?`;
}

/** An embedder that answers precomputed query vectors at once: retrieval timed without the embedding. */
function precomputedEmbedder(inner: Embedder, vectors: ReadonlyMap<string, Float32Array>): Embedder {
  return {
    id: inner.id,
    dimension: inner.dimension,
    async embed(texts, options) {
      if (texts.every((text) => vectors.has(text))) return texts.map((text) => vectors.get(text)!);
      return inner.embed(texts, options);
    },
  };
}

function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

async function latencyReport(sizes: readonly number[]): Promise<void> {
  console.log(`(b) retrieval latency and (c) database size — synthetic bilingual turns, about 10k memories per person, builtin embedder`);
  const { directory, path, db } = openBenchDatabase('omoide-memory-scale-');
  try {
    const clock = new ManualClock(Date.UTC(2024, 0, 1));
    const settings = memorySettingsSchema.parse({ ...args.settings, timezone: timeZone });
    const builtin = createBuiltinEmbedder();
    const filler = createMemory({ db, embedder: builtin, settings, clock });
    await filler.ensureEmbeddingSpace();
    const store = new ConversationStore(db);
    const random = randomSource(42);
    const perScope = 10_000;
    let filled = 0;
    const userIds: number[] = [];
    const started = Date.UTC(2023, 0, 1);

    for (const size of sizes) {
      const fillStart = performance.now();
      while (filled < size) {
        const scopeIndex = Math.floor(filled / perScope);
        if (userIds[scopeIndex] === undefined) {
          userIds[scopeIndex] = store.recordUserMessage({
            conversation: { platform: 'bench', guildId: '', channelId: `dm-${scopeIndex}`, characterId: 'juniper' },
            platformUserId: `person-${scopeIndex}`, displayName: `Person ${scopeIndex}`, content: 'hello', tokenCount: 1,
            platformMessageId: null, createdAt: started,
          }).userId;
        }
        const batch = Math.min(5_000, size - filled, (scopeIndex + 1) * perScope - filled);
        const drafts = Array.from({ length: batch }, (_, offset) => ({
          kind: 'turn' as const,
          content: syntheticTurn(random, filled + offset),
          // a year of conversation per person, one memory every ~50 minutes
          occurredAt: started + ((filled + offset) % perScope) * 3_000_000,
        }));
        const prepared: PreparedMemory[] = await filler.prepareMany(drafts);
        const scope = { userId: userIds[scopeIndex]!, characterId: 'juniper', guildId: null };
        db.transaction(() => filler.writePrepared(prepared.map((memory): PreparedWrite => ({ scope, memory }))))();
        filled += batch;
      }
      const fillSeconds = (performance.now() - fillStart) / 1000;

      const queries = Array.from({ length: 300 }, () => ({ text: syntheticQuery(random), scope: Math.floor(random() * userIds.length) }));
      const vectors = new Map<string, Float32Array>();
      const queryTexts = [...new Set(queries.map((query) => query.text))];
      (await builtin.embed(queryTexts, { purpose: 'query' })).forEach((vector, index) => vectors.set(queryTexts[index]!, vector));
      const now = started + 400 * 86_400_000;
      const timings = async (memory: Memory): Promise<number[]> => {
        const samples: number[] = [];
        for (const [index, query] of queries.entries()) {
          const scope = { userId: userIds[query.scope]!, characterId: 'juniper', guildId: null };
          const began = performance.now();
          await memory.search(scope, query.text, { now });
          if (index >= 20) samples.push(performance.now() - began); // the first few warm the caches
        }
        return samples;
      };
      const excluded = summarize(await timings(createMemory({ db, embedder: precomputedEmbedder(builtin, vectors), settings, clock })));
      const included = summarize(await timings(createMemory({ db, embedder: builtin, settings, clock })));

      db.pragma('wal_checkpoint(TRUNCATE)');
      const bytes = fileSize(path) + fileSize(`${path}-wal`);
      const vectorBytes = (db.prepare(`SELECT coalesce(sum(pgsize), 0) AS bytes FROM dbstat WHERE name LIKE 'memory_vectors%'`).get() as { bytes: number }).bytes;
      const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1_000}k`;
      console.log(
        `    ${label.padStart(5)} memories (${userIds.length} people, filled in ${fillSeconds.toFixed(1)} s)` +
          ` | excl. embedding p50 ${formatMs(excluded.p50)} p95 ${formatMs(excluded.p95)}` +
          ` | incl. embedding p50 ${formatMs(included.p50)} p95 ${formatMs(included.p95)}` +
          ` | ${((bytes / size) * 100_000 / 1048576).toFixed(1)} MiB per 100k (vectors ${((vectorBytes / bytes) * 100).toFixed(0)}%)`,
      );
    }
    console.log('    target: p95 <= 5 ms excluding embedding at 1M');
  } finally {
    db.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

setLogLevel('warn');
const args = parseArguments(process.argv.slice(2));
if (args.recall) await recallReport(args.misses);
if (args.latency) await latencyReport(args.sizes);
