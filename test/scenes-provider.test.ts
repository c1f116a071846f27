import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { createApp } from '../src/app.js';
import { CharacterCatalog } from '../src/characters/catalog.js';
import type { Character } from '../src/characters/character.js';
import type { ScriptIndex } from '../src/characters/script-index.js';
import { createScriptIndex } from '../src/characters/script-index.js';
import {
  createScenesProvider,
  packScenes,
  sceneCost,
  sceneHeadingAllowanceTokens,
} from '../src/engine/providers/scenes-provider.js';
import { loadConfig } from '../src/config.js';
import { ManualClock } from '../src/core/clock.js';
import type { IncomingMessage } from '../src/core/message.js';
import type { HistoryLine } from '../src/core/turn.js';
import type { CharacterTurn as Turn } from '../src/engine/engine.js';
import { countTokens } from '../src/core/tokens.js';
import { createBuiltinEmbedder } from '../src/llm/builtin/ngram-embedder.js';
import type { Embedder } from '../src/llm/types.js';
import { LlmError } from '../src/llm/types.js';
import { ask } from './helpers/runtime.js';
import type { SqliteDatabase } from '../src/store/db.js';
import { openDatabase } from '../src/store/db.js';
import { logToFile, logToStderr } from '../src/util/logger.js';
import { RecordingModel } from './helpers/recording-model.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'scripts');

let directory: string;
let charactersDir: string;
let db: SqliteDatabase;
let embedCalls: number;
let failEmbeds: boolean;

const inner = createBuiltinEmbedder();
const embedder: Embedder = {
  id: inner.id,
  dimension: inner.dimension,
  async embed(texts, options) {
    embedCalls++;
    if (failEmbeds) throw new LlmError('embedder unreachable', 'test', 'connection', true);
    return inner.embed(texts, options);
  },
};

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-scenes-'));
  charactersDir = join(directory, 'characters');
  cpSync(fixtures, charactersDir, { recursive: true });
  logToFile(join(directory, 'test.log'));
  db = openDatabase(join(directory, 'omoide.db'));
  embedCalls = 0;
  failEmbeds = false;
});
afterEach(() => {
  db.close();
  logToStderr();
  rmSync(directory, { recursive: true, force: true });
});

function catalog(): CharacterCatalog {
  const loaded = new CharacterCatalog(charactersDir, 'xia');
  expect(loaded.reload()).toEqual([]);
  return loaded;
}

function withSettings(character: Character, budgetTokens: number, minChunks: number): Character {
  return { ...character, scriptSettings: { budgetTokens, minChunks } };
}

let sequence = 0;
function turn(character: Character, text: string, history: readonly HistoryLine[] = [], author = '阿哲'): Turn {
  sequence++;
  const message: IncomingMessage = {
    platform: 'console',
    guildId: null,
    channelId: 'terminal',
    messageId: `m${sequence}`,
    author: { id: 'u1', displayName: author },
    text,
    addressing: { mentioned: false, repliedToBot: false, direct: true },
    replyTo: null,
    timestamp: new Date(Date.UTC(2024, 4, 1, 12, sequence)),
  };
  return { message, character, userId: 1, conversationId: 1, messageId: sequence, history, locale: character.language };
}

const said = (role: 'user' | 'assistant', speakerName: string, content: string): HistoryLine => ({
  role,
  speakerName,
  content,
  tokenCount: countTokens(content),
});

const chunkFile = (id: string, file: string) => readFileSync(join(charactersDir, id, 'script', 'texts', file), 'utf8').trim();
const used = (items: readonly string[]) => items.reduce((sum, item) => sum + sceneCost(item), 0) + sceneHeadingAllowanceTokens;

async function provide(character: Character, text: string, history: readonly HistoryLine[] = [], index?: ScriptIndex) {
  const scriptIndex = index ?? createScriptIndex({ db, embedder });
  const provider = createScenesProvider({ characters: { get: () => character }, scriptIndex });
  expect(provider.section).toBe('scenes');
  return provider.collect(turn(character, text, history));
}

describe('scenes provider', () => {
  it('offers the chunks nearest to what was said, best first, each chunk one item (Chinese and English)', async () => {
    const characters = catalog();
    const index = createScriptIndex({ db, embedder });
    const provider = createScenesProvider({ characters, scriptIndex: index });
    const xia = characters.get('xia')!;
    const cat = await provider.collect(turn(xia, '你喜欢猫吗？'));
    expect(cat[0]).toBe(chunkFile('xia', 'text_2.txt'));
    expect(cat.length).toBeGreaterThanOrEqual(3);
    const mira = characters.get('mira')!;
    const bread = await provider.collect(turn(mira, 'How do you bake bread?', [], 'Tom'));
    expect(bread[0]).toBe(chunkFile('mira', 'scene_3.txt'));
    // every item is a whole chunk of that character
    const miraChunks = ['scene_1.txt', 'scene_2.txt', 'scene_3.txt', 'scene_4.txt', 'scene_5.txt'].map((file) => chunkFile('mira', file));
    for (const item of bread) expect(miraChunks).toContain(item);
  });

  it('asks the index in script form, name:「text」', async () => {
    const xia = catalog().get('xia')!;
    const real = createScriptIndex({ db, embedder });
    const queries: string[] = [];
    const spy: ScriptIndex = { ...real, search: (id, query, options) => (queries.push(query), real.search(id, query, options)) };
    await provide(xia, '今晚看流星雨吗', [], spy);
    expect(queries).toEqual(['阿哲:「今晚看流星雨吗」']);
  });

  it('never exceeds the character’s budget, whatever the budget', async () => {
    const characters = catalog();
    const index = createScriptIndex({ db, embedder });
    const queries = ['你喜欢猫吗？', '下雨了', '外星人真的存在吗', 'bread and storms'];
    for (const id of ['xia', 'mira']) {
      for (const budget of [10, 17, 40, 60, 100, 150, 250, 400, 1500]) {
        for (const minChunks of [0, 1, 3, 5]) {
          const character = withSettings(characters.get(id)!, budget, minChunks);
          const provider = createScenesProvider({ characters: { get: () => character }, scriptIndex: index });
          for (const query of queries) {
            const items = await provider.collect(turn(character, query));
            if (items.length > 0) expect(used(items), `${id} budget ${budget} min ${minChunks} "${query}"`).toBeLessThanOrEqual(budget);
            for (const item of items) expect(item.trim()).not.toBe('');
          }
        }
      }
    }
  });

  it('honours minChunks by trimming when whole chunks do not fit, and packs past it when they do', async () => {
    const xia = catalog().get('xia')!;
    const sizes = ['text_1.txt', 'text_2.txt', 'text_3.txt'].map((file) => countTokens(chunkFile('xia', file)));
    // room for one whole chunk, not two
    const budget = sceneHeadingAllowanceTokens + Math.max(...sizes) + 30;
    const three = await provide(withSettings(xia, budget, 3), '你喜欢猫吗？');
    expect(three).toHaveLength(3);
    expect(used(three)).toBeLessThanOrEqual(budget);
    // trimmed at line ends: each item is the start of a chunk, the best one first
    const allChunks = [1, 2, 3, 4, 5, 6].map((n) => chunkFile('xia', `text_${n}.txt`));
    for (const item of three) expect(allChunks.some((chunk) => chunk.startsWith(item))).toBe(true);
    expect(chunkFile('xia', 'text_2.txt').startsWith(three[0]!)).toBe(true);

    // without a minimum, whole chunks only: fewer of them
    const whole = await provide(withSettings(xia, budget, 0), '你喜欢猫吗？');
    expect(whole.length).toBeLessThan(3);
    for (const item of whole) expect(allChunks).toContain(item);

    // a large budget takes every chunk that fits, more than the minimum
    const all = await provide(withSettings(xia, 5000, 3), '你喜欢猫吗？');
    expect(all).toHaveLength(6);

    // a minimum larger than the script: all it has
    const mira = catalog().get('mira')!;
    expect(await provide(withSettings(mira, 5000, 9), 'storm')).toHaveLength(5);
  });

  it('leaves out a chunk whose line is already in the recent history', async () => {
    const xia = catalog().get('xia')!;
    const plain = await provide(xia, '你喜欢猫吗？');
    expect(plain[0]).toBe(chunkFile('xia', 'text_2.txt'));
    const history = [
      said('user', '阿哲', '门口那只猫又来了'),
      said('assistant', '夏雨', '这只猫一直跟着我们，它一定是来自外星的侦察员！'),
      // a short common line proves nothing
      said('user', '阿哲', '对不起……'),
    ];
    const after = await provide(xia, '你喜欢猫吗？', history);
    expect(after).not.toContain(chunkFile('xia', 'text_2.txt'));
    expect(after).toContain(chunkFile('xia', 'text_6.txt'));
    expect(after.length).toBeGreaterThanOrEqual(3);
  });

  it('does not offer the same scene twice', async () => {
    writeFileSync(join(charactersDir, 'xia', 'script', 'texts', 'text_7.txt'), chunkFile('xia', 'text_2.txt'));
    // the same lines with other spacing and a different narration line still repeat text_2's dialogue
    writeFileSync(
      join(charactersDir, 'xia', 'script', 'texts', 'text_8.txt'),
      chunkFile('xia', 'text_2.txt').replace('旁白:学校门口蹲着一只橘色的流浪猫。', '旁白:猫。').replaceAll('」', '」 '),
    );
    const xia = catalog().get('xia')!;
    expect(xia.script!.chunkCount).toBe(8);
    const items = await provide(withSettings(xia, 5000, 3), '你喜欢猫吗？');
    expect(items.filter((item) => item.includes('侦察员先生'))).toHaveLength(1);
    expect(items).toHaveLength(6);
  });

  it('gives nothing for a character without a script, and asks no embedder', async () => {
    const plain = catalog().get('plain')!;
    expect(await provide(plain, 'hello')).toEqual([]);
    expect(embedCalls).toBe(0);
  });

  it('indexes a new or changed script once, on first use, not per message', async () => {
    const characters = catalog();
    const index = createScriptIndex({ db, embedder });
    const provider = createScenesProvider({ characters, scriptIndex: index });
    const xia = characters.get('xia')!;
    await provider.collect(turn(xia, '猫'));
    expect(embedCalls).toBe(2); // the chunks (one batch) and the query
    await provider.collect(turn(xia, '雨'));
    await provider.collect(turn(xia, '拉面'));
    expect(embedCalls).toBe(4); // one query each
    writeFileSync(join(charactersDir, 'xia', 'script', 'texts', 'text_9.txt'), '夏雨:「土星环是冰块组成的！」');
    characters.reload();
    const saturn = await provider.collect(turn(characters.get('xia')!, '土星环'));
    expect(embedCalls).toBe(6);
    expect(saturn[0]).toBe('夏雨:「土星环是冰块组成的！」');
  });

  it('answers without scenes when the embedder is down', async () => {
    const xia = catalog().get('xia')!;
    failEmbeds = true;
    expect(await provide(xia, '你喜欢猫吗？')).toEqual([]);
  });
});

describe('packScenes', () => {
  const candidate = (tokens: number, label: string) => {
    const line = `${label}${'字'.repeat(19)}`;
    const lines: string[] = [];
    while (countTokens(lines.join('\n')) < tokens) lines.push(line);
    const text = lines.join('\n');
    return { text, tokens: countTokens(text) };
  };

  it('packs first fit, best first, whole chunks', () => {
    const list = [candidate(100, 'A'), candidate(300, 'B'), candidate(50, 'C')];
    const items = packScenes(list, { budgetTokens: 200, minChunks: 0 });
    expect(items).toEqual([list[0]!.text, list[2]!.text]);
  });

  it('shares the budget among the best minChunks when whole chunks cannot reach it', () => {
    const list = [candidate(300, 'A'), candidate(40, 'B'), candidate(300, 'C'), candidate(20, 'D')];
    const budget = 216;
    const items = packScenes(list, { budgetTokens: budget, minChunks: 3 });
    expect(items).toHaveLength(3);
    expect(used(items)).toBeLessThanOrEqual(budget);
    // the short one keeps all of itself; the long ones share what is left, in rank order
    expect(items[1]).toBe(list[1]!.text);
    expect(list[0]!.text.startsWith(items[0]!)).toBe(true);
    expect(list[2]!.text.startsWith(items[2]!)).toBe(true);
    expect(countTokens(items[0]!)).toBeGreaterThan(60);
  });

  it('keeps whole chunks when the budget is too small to share', () => {
    const list = [candidate(40, 'A'), candidate(40, 'B'), candidate(40, 'C')];
    const items = packScenes(list, { budgetTokens: 70, minChunks: 3 });
    expect(items).toEqual([list[0]!.text]);
    expect(packScenes(list, { budgetTokens: 10, minChunks: 3 })).toEqual([]);
  });
});


describe('classic scenes in an engine turn (createApp)', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('puts the nearest script chunks into the system prompt as the scenes section', async () => {
    writeFileSync(join(directory, 'config.yaml'), `charactersDir: ${JSON.stringify(charactersDir)}\ndefaultCharacter: xia\n`);
    const config = loadConfig({ env: { OMOIDE_DATA_DIR: join(directory, 'data') }, cwd: directory });
    const model = new RecordingModel('夏雨:「当然喜欢！」');
    app = await createApp(config, { chatModel: model, embedder, clock: new ManualClock(new Date(Date.UTC(2024, 4, 1))) });
    const reply = await ask(app.engine, turn(catalog().get('xia')!, '你喜欢猫吗？').message);
    // the script-form echo is stripped from the reply
    expect(reply?.text).toBe('当然喜欢！');
    const system = model.requests.at(-1)!.messages[0]!.content;
    expect(system).toContain('## 夏雨的经典片段');
    expect(system).toContain('夏雨:「这只猫一直跟着我们，它一定是来自外星的侦察员。」');
    // the scenes come after the persona, before the history
    expect(system.indexOf('## 夏雨的经典片段')).toBeGreaterThan(system.indexOf('天文社的社长'));
  });
});
