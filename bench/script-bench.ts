/**
 * `npm run bench:scripts` — issue 4's figures for the classic scenes:
 *
 * (a) indexing a script of about 2,000 generated bilingual chunks with the builtin embedder (files written to a temp
 *     character folder and loaded by the real loader): index time and chunks/s, and the cost of the no-op check that
 *     every later start pays;
 * (b) per-turn latency of the scenes provider (query embedding, KNN + BM25 fusion, history dedupe, packing under the
 *     1,500-token budget) over 500 queries, p50/p95;
 * (c) the same for the real ChatHaruhi haruhi script (../shared/data/chatharuhi/haruhi, loaded through the script
 *     folder loader by a symlink, never copied), skipped when that folder is absent;
 * (d) for both, what the SimHash shortlist costs in quality: of the vector candidates a turn asks for (the top 96 for
 *     32 scenes), the share that re-scoring every chunk of the script by cosine also ranks there, and the time each
 *     takes.
 *
 *   node dist/bench/script-bench.js [--chunks N] [--queries N]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CharacterCatalog } from '../src/characters/catalog.js';
import type { Character } from '../src/characters/character.js';
import { createScriptIndex } from '../src/characters/script-index.js';
import { candidateDepth, scriptShortlist } from '../src/characters/script-search.js';
import { countTokens } from '../src/core/tokens.js';
import type { HistoryLine } from '../src/core/turn.js';
import type { CharacterTurn } from '../src/engine/engine.js';
import { createScenesProvider, defaultSceneCandidates } from '../src/engine/providers/scenes-provider.js';
import { createBuiltinEmbedder } from '../src/llm/builtin/ngram-embedder.js';
import type { Embedder } from '../src/llm/types.js';
import { openDatabase } from '../src/store/db.js';
import { ScriptStore } from '../src/store/script-store.js';
import { maxShortlist } from '../src/store/vector-table.js';
import { setLogLevel } from '../src/util/logger.js';
import { repositoryRoot } from './memorybank-data.js';
import { formatMs, summarize } from './stats.js';

interface Arguments {
  chunks: number;
  queries: number;
}

function parseArguments(argv: readonly string[]): Arguments {
  const parsed: Arguments = { chunks: 2000, queries: 500 };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = Number(argv[index + 1]);
    if ((flag === '--chunks' || flag === '--queries') && Number.isInteger(value) && value > 0) {
      parsed[flag === '--chunks' ? 'chunks' : 'queries'] = value;
      index++;
    } else {
      throw new Error(`unknown or incomplete argument "${flag}"; expected --chunks N or --queries N`);
    }
  }
  return parsed;
}

/** Deterministic, so every run indexes the same script. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    state ^= state >>> 13;
    return (state >>> 0) / 4294967296;
  };
}

const random = createRandom(20240501);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const zhTopics = ['流星雨', '外星人', '土星环', '拉面', '雨伞', '考试', '图书馆', '流浪猫', '篮球赛', '文化祭', '电车', '便当', '钢琴', '夏日祭', '神社', '海边', '望远镜', '黑洞', '生日蛋糕', '社团活动'];
const zhSpeakers = ['夏雨', '阿哲', '小林', '旁白', '学生会长', '老师'];
const zhFrames = [
  '今天一定要去看{t}！', '{t}这种东西，你真的相信吗？', '我昨天梦见了{t}，还有你。', '放学以后一起讨论{t}吧。',
  '为什么没人对{t}感兴趣？', '{t}才不是普通的东西。', '你说的{t}，我早就知道了。', '别小看{t}，它可能改变世界。',
];
const enTopics = ['lighthouse', 'storm', 'bread', 'chess', 'violin', 'train', 'harbour', 'letters', 'garden', 'telescope', 'kites', 'market', 'winter', 'ferry', 'library', 'festival'];
const enSpeakers = ['Mira', 'Tom', 'Narrator', 'Ada', 'The captain'];
const enFrames = [
  'Have you ever seen the {t} at night?', 'The {t} reminds me of my grandmother.', 'We should talk about the {t} tomorrow.',
  'Nobody cares about the {t} but me.', 'I dreamt about the {t} again.', 'Leave the {t} alone, it has its own moods.',
];

function generatedChunk(index: number): string {
  const chinese = index % 3 !== 2; // two Chinese chunks for every English one, as the target audience reads
  const lines: string[] = [];
  const count = 4 + Math.floor(random() * 7);
  const topic = chinese ? pick(zhTopics) : pick(enTopics);
  for (let line = 0; line < count; line++) {
    const speaker = chinese ? pick(zhSpeakers) : pick(enSpeakers);
    const subject = random() < 0.7 ? topic : chinese ? pick(zhTopics) : pick(enTopics);
    const text = (chinese ? pick(zhFrames) : pick(enFrames)).replace('{t}', subject);
    if (speaker === '旁白' || speaker === 'Narrator') lines.push(`${speaker}:${text}`);
    else lines.push(`${speaker}:「${text}」`);
  }
  return lines.join('\n');
}

function generatedQuery(): string {
  return random() < 0.67 ? pick(zhFrames).replace('{t}', pick(zhTopics)) : pick(enFrames).replace('{t}', pick(enTopics));
}

const haruhiQueries = [
  '你对普通人感兴趣吗？', 'SOS团今天有什么活动？', '阿虚又迟到了', '你相信外星人吗？', '我们去找不可思议的事情吧',
  '朝比奈学姐今天穿了什么？', '长门在看什么书？', '古泉说的话你信吗？', '棒球比赛要不要参加？', '电脑研究社的电脑呢？',
  '今天的团长会议讲什么', '你为什么要剪头发', '文化祭要拍电影吗', '我想加入SOS团', '下雨了怎么办',
];

function writeCharacter(charactersDir: string, id: string, name: string, language: 'zh-CN' | 'en-US'): string {
  const directory = join(charactersDir, id);
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'character.yaml'), `name: ${name}\nlanguage: ${language}\ndescription: A character for the script benchmark.\n`);
  return directory;
}

function turnFor(character: Character, text: string, history: readonly HistoryLine[], sequence: number): CharacterTurn {
  return {
    message: {
      platform: 'console',
      guildId: null,
      channelId: 'bench',
      messageId: `m${sequence}`,
      author: { id: 'u1', displayName: character.language === 'zh-CN' ? '阿虚' : 'Tom' },
      text,
      addressing: { mentioned: false, repliedToBot: false, direct: true },
      replyTo: null,
      timestamp: new Date(Date.UTC(2024, 4, 1)),
    },
    character,
    userId: 1,
    conversationId: 1,
    messageId: sequence,
    history,
    locale: character.language,
  };
}

async function measure(
  label: string,
  catalog: CharacterCatalog,
  characterId: string,
  queries: readonly string[],
  databasePath: string,
): Promise<void> {
  const character = catalog.get(characterId)!;
  const db = openDatabase(databasePath);
  try {
    const embedder = createBuiltinEmbedder();
    const scriptIndex = createScriptIndex({ db, embedder });
    let started = performance.now();
    const { chunks } = await scriptIndex.ensureIndexed(character);
    const indexMs = performance.now() - started;
    started = performance.now();
    await scriptIndex.ensureIndexed(character);
    const checkMs = performance.now() - started;
    console.log(
      `    ${label}: ${chunks} chunks indexed in ${indexMs.toFixed(0)} ms (${Math.round((chunks / indexMs) * 1000)} chunks/s); ` +
        `unchanged-script check ${formatMs(checkMs)}`,
    );

    const provider = createScenesProvider({ characters: catalog, scriptIndex });
    const samples: number[] = [];
    let items = 0;
    let tokens = 0;
    const history: HistoryLine[] = [];
    for (let index = 0; index < queries.length; index++) {
      const text = queries[index]!;
      const turn = turnFor(character, text, history.slice(-20), index);
      started = performance.now();
      const scenes = await provider.collect(turn);
      samples.push(performance.now() - started);
      items += scenes.length;
      tokens += scenes.reduce((sum, scene) => sum + countTokens(scene), 0);
      history.push({ role: 'user', speakerName: turn.message.author.displayName, content: text, tokenCount: countTokens(text) });
    }
    const stats = summarize(samples);
    console.log(
      `    ${label}: scenes per turn over ${queries.length} queries p50 ${formatMs(stats.p50)}, p95 ${formatMs(stats.p95)}, ` +
        `mean ${formatMs(stats.mean)}; ${(items / queries.length).toFixed(1)} scenes, ${Math.round(tokens / queries.length)} tokens a turn`,
    );
    await measureShortlist(label, new ScriptStore(db), embedder, characterId, queries);
  } finally {
    db.close();
  }
}

/**
 * (d): the shortlist a scenes turn uses against re-scoring the whole script (exact up to half-float rounding, for
 * scripts of at most maxShortlist chunks), over the distinct queries: recall of the top 10 and of the whole list.
 */
async function measureShortlist(
  label: string,
  store: ScriptStore,
  embedder: Embedder,
  characterId: string,
  queries: readonly string[],
): Promise<void> {
  const depth = candidateDepth(defaultSceneCandidates);
  const shortlist = scriptShortlist(depth);
  const distinct = [...new Set(queries)];
  const vectors = await embedder.embed(distinct, { purpose: 'query' });
  const kept = { top10: 0, all: 0, wanted10: 0, wanted: 0 };
  const shortlistMs: number[] = [];
  const wholeMs: number[] = [];
  for (const vector of vectors) {
    let started = performance.now();
    const quick = store.vectorCandidates(characterId, embedder.dimension, vector, depth, shortlist).map((hit) => hit.id);
    shortlistMs.push(performance.now() - started);
    started = performance.now();
    const whole = store.vectorCandidates(characterId, embedder.dimension, vector, depth, maxShortlist).map((hit) => hit.id);
    wholeMs.push(performance.now() - started);
    const found = new Set(quick);
    kept.top10 += whole.slice(0, 10).filter((id) => found.has(id)).length;
    kept.wanted10 += Math.min(10, whole.length);
    kept.all += whole.filter((id) => found.has(id)).length;
    kept.wanted += whole.length;
  }
  const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;
  console.log(
    `    ${label}: vector candidates (top ${depth}, shortlist ${shortlist}) over ${distinct.length} distinct queries keep ` +
      `${percent(kept.top10, kept.wanted10)} of the exact top 10 and ${percent(kept.all, kept.wanted)} of the exact top ${depth}; ` +
      `p50 ${formatMs(summarize(shortlistMs).p50)} vs ${formatMs(summarize(wholeMs).p50)} re-scoring every chunk`,
  );
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  setLogLevel('warn');
  const workspace = mkdtempSync(join(tmpdir(), 'omoide-script-bench-'));
  try {
    const charactersDir = join(workspace, 'characters');
    console.log(`script retrieval — builtin embedder (${createBuiltinEmbedder().id}), budget 1500 tokens, min 3 scenes, Node ${process.version}`);

    // (a) + (b): generated script
    const generated = writeCharacter(charactersDir, 'generated', '夏雨', 'zh-CN');
    const texts = join(generated, 'script', 'texts');
    mkdirSync(texts, { recursive: true });
    for (let index = 0; index < args.chunks; index++) writeFileSync(join(texts, `text_${index}.txt`), generatedChunk(index));

    // (c): the real haruhi script, through the loader, by a symlink to the shared folder
    const haruhiSource = resolve(repositoryRoot(), '..', 'shared', 'data', 'chatharuhi', 'haruhi');
    const haveHaruhi = existsSync(join(haruhiSource, 'texts'));
    if (haveHaruhi) symlinkSync(haruhiSource, join(writeCharacter(charactersDir, 'haruhi', '凉宫春日', 'zh-CN'), 'script'), 'dir');

    const catalog = new CharacterCatalog(charactersDir, 'generated');
    let started = performance.now();
    const errors = catalog.reload();
    if (errors.length > 0) throw errors[0];
    console.log(`    loading and hashing the characters' scripts: ${(performance.now() - started).toFixed(0)} ms`);

    const queries = Array.from({ length: args.queries }, generatedQuery);
    await measure(`generated (${args.chunks} files)`, catalog, 'generated', queries, join(workspace, 'generated.db'));

    if (haveHaruhi) {
      const haruhi = Array.from({ length: args.queries }, (_, index) => haruhiQueries[index % haruhiQueries.length]!);
      await measure('ChatHaruhi haruhi', catalog, 'haruhi', haruhi, join(workspace, 'haruhi.db'));
    } else {
      console.log(`    ChatHaruhi haruhi: skipped — no ${haruhiSource}`);
    }
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

await main();
