import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { parseCardJson } from '../src/characters/card/parse-card.js';
import { createBlankPng, crc32, readPngTextChunks, writeCardToPng } from '../src/characters/card/png.js';
import type { Character } from '../src/characters/character.js';
import { importCharacter } from '../src/characters/import/import-character.js';
import { loadCharacter } from '../src/characters/load-characters.js';
import { buildCli } from '../src/cli/index.js';
import { CharacterError, InputError, OmoideError } from '../src/core/errors.js';

const cards = 'test/fixtures/cards';
const chatharuhi = 'test/fixtures/chatharuhi';

let directory: string;
let charactersDir: string;
let configPath: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-import-'));
  charactersDir = join(directory, 'characters');
  configPath = join(directory, 'config.yaml');
  writeFileSync(configPath, `charactersDir: ${JSON.stringify(charactersDir)}\ndataDir: ${JSON.stringify(join(directory, 'data'))}\nlogLevel: silent\n`);
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(directory, { recursive: true, force: true });
});

/** Runs `omoide -c <config> ...args` through the real commander program; returns what it printed. */
async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await buildCli().exitOverride().parseAsync(['-c', configPath, ...args], { from: 'user' });
  } finally {
    vi.restoreAllMocks();
  }
  return { stdout, stderr };
}

async function cliError(...args: string[]): Promise<OmoideError> {
  try {
    await cli(...args);
  } catch (error) {
    if (error instanceof OmoideError) return error;
    throw error;
  }
  throw new Error('expected the command to fail');
}

function readCharacter(id: string): Character {
  return loadCharacter(join(charactersDir, id));
}

/** Everything a re-import must reproduce: all fields but where the character lives. */
function comparable(character: Character) {
  const { id: _id, directory: _directory, file: _file, script, ...rest } = character;
  return { ...rest, script: script && { chunkFiles: script.chunkFiles, chunkCount: script.chunkCount, hash: script.hash } };
}

function entries(): string[] {
  return existsSync(charactersDir) ? readdirSync(charactersDir).sort() : [];
}

function tEXt(keyword: string, text: string): Buffer {
  const data = Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(data.length, 0);
  header.write('tEXt', 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(header.subarray(4, 8), data), 0);
  return Buffer.concat([header, data, crc]);
}

/** A real 1x1 PNG with the given tEXt chunks inserted before IEND. */
function pngWith(...chunks: Buffer[]): Buffer {
  const blank = createBlankPng();
  const iend = blank.length - 12;
  return Buffer.concat([blank.subarray(0, iend), ...chunks, blank.subarray(iend)]);
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('import: character cards', () => {
  test('a V2 JSON card: character.yaml, lorebook.json, and card.json byte for byte', async () => {
    const { stdout } = await cli('character', 'import', `${cards}/v2-zh.json`);
    // A Chinese name slugifies to nothing: the file name is the id.
    expect(stdout).toMatch(/^imported v2-zh: 林小雨 \(zh-CN\) from card-json, lorebook 1 entry → /);
    expect(readdirSync(join(charactersDir, 'v2-zh')).sort()).toEqual(['card.json', 'character.yaml', 'lorebook.json']);
    expect(readFileSync(join(charactersDir, 'v2-zh', 'card.json'))).toEqual(readFileSync(`${cards}/v2-zh.json`));
    const xiaoyu = readCharacter('v2-zh');
    const original = parseCardJson(readFileSync(`${cards}/v2-zh.json`, 'utf8'), 'v2-zh.json');
    expect(xiaoyu).toMatchObject({
      name: '林小雨',
      language: 'zh-CN',
      description: original.description,
      personality: original.personality,
      scenario: original.scenario,
      greeting: original.firstMessage,
      postHistoryInstructions: original.postHistoryInstructions,
      creator: original.creator,
      alternateGreetings: original.alternateGreetings,
      systemPrompt: original.systemPrompt,
      tags: original.tags,
      characterVersion: '1.2',
      extensions: original.extensions,
    });
    expect(xiaoyu.exampleDialogues).toHaveLength(2);
    expect(xiaoyu.lorebook).toEqual(original.characterBook);
  });

  test('a V3 JSON card: id from the name, aliases from extensions.omoide and the nickname, omoide\'s extension consumed', async () => {
    await cli('character', 'import', `${cards}/v3-en.json`);
    const ortega = readCharacter('captain-ortega');
    expect(ortega.aliases).toEqual(['the Captain', 'Cap']);
    expect(ortega.extensions).toEqual({ x_custom: { keep: 'me' } });
    expect(ortega.lorebook).toBeNull();
  });

  test('a V1 card and --id', async () => {
    await cli('character', 'import', `${cards}/v1-flat-en.json`, '--id', 'keeper');
    const mira = readCharacter('keeper');
    expect(mira.name).toBe('Mira');
    expect(mira.exampleDialogues[0]).toEqual([
      { speaker: 'user', text: 'Do you ever get lonely out here?' },
      { speaker: 'char', text: 'The gulls are poor conversationalists.\nBut they never interrupt.' },
    ]);
  });

  test('a PNG card: ccv3 wins over chara; the image is kept as avatar.png', async () => {
    const v3 = readFileSync(`${cards}/v3-en.json`, 'utf8');
    const decoy = JSON.stringify({ spec: 'chara_card_v2', spec_version: '2.0', data: { name: 'Decoy' } });
    const png = pngWith(tEXt('chara', base64(decoy)), tEXt('ccv3', base64(v3)));
    writeFileSync(join(directory, 'ortega.png'), png);
    await cli('character', 'import', join(directory, 'ortega.png'));
    expect(readCharacter('captain-ortega').name).toBe('Captain Ortega');
    expect(readFileSync(join(charactersDir, 'captain-ortega', 'avatar.png'))).toEqual(png);
    expect(readFileSync(join(charactersDir, 'captain-ortega', 'card.json'), 'utf8')).toBe(v3);

    // Only a chara chunk (an older tool's card), keyword spelled differently.
    writeFileSync(join(directory, 'old.png'), pngWith(tEXt('Chara', base64(readFileSync(`${cards}/v1-flat-en.json`, 'utf8')))));
    await cli('character', 'import', join(directory, 'old.png'));
    expect(readCharacter('mira').name).toBe('Mira');
  });

  test.each([
    ['truncated PNG', () => pngWith(tEXt('chara', base64('{}'))).subarray(0, 60), 'card.png', /card\.png: PNG is truncated/],
    ['not a PNG', () => Buffer.from('GIF89a, not a png'), 'card.png', /card\.png: not a PNG file \(the PNG signature is missing\)/],
    ['PNG without a card', () => createBlankPng(), 'card.png', /card\.png: PNG has no character card/],
    ['bad base64', () => pngWith(tEXt('ccv3', '@@not base64@@')), 'card.png', /card\.png \(chunk ccv3\): the card data is not valid base64/],
    ['card chunk not UTF-8', () => pngWith(tEXt('chara', Buffer.from([0xff, 0xfe, 0x41]).toString('base64'))), 'card.png', /\(chunk chara\): the card data is not UTF-8 text/],
    ['invalid JSON', () => readFileSync(`${cards}/invalid.json`), 'card.json', /card\.json: invalid JSON/],
    ['missing name', () => readFileSync(`${cards}/missing-name.json`), 'card.json', /card\.json: field "data\.name"/],
    ['JSON not UTF-8', () => Buffer.concat([Buffer.from('{"name": "'), Buffer.from([0xc3, 0xfb]), Buffer.from('"}')]), 'card.json', /card\.json: the file is not valid UTF-8 text/],
    ['unknown format', () => Buffer.from('name: x'), 'card.txt', /card\.txt: unknown format/],
  ])('%s → a clear error naming the file, and nothing written', async (_label, content, name, pattern) => {
    writeFileSync(join(directory, name), content());
    const error = await cliError('character', 'import', join(directory, name));
    expect(error).toBeInstanceOf(CharacterError);
    expect(error.message).toMatch(pattern);
    expect(entries()).toEqual([]);
  });

  test('files over the size limits are refused before they are read', async () => {
    const bigJson = join(directory, 'big.json');
    writeFileSync(bigJson, '');
    truncateSync(bigJson, 5 * 1024 * 1024 + 1);
    expect((await cliError('character', 'import', bigJson)).message).toMatch(/big\.json: the file is 5\.0 MiB; a JSON card may be at most 5 MiB/);
    const bigPng = join(directory, 'big.png');
    writeFileSync(bigPng, '');
    truncateSync(bigPng, 20 * 1024 * 1024 + 1);
    expect((await cliError('character', 'import', bigPng)).message).toMatch(/big\.png: the file is 20\.0 MiB; a PNG card may be at most 20 MiB/);
  });
});

describe('import: ChatHaruhi', () => {
  test('a folder: name from the system prompt, the script copied, the empty excerpt not counted', async () => {
    const { stdout } = await cli('character', 'import', `${chatharuhi}/xiaoyu`);
    expect(stdout).toMatch(/^imported xiaoyu: 林小雨 \(zh-CN\) from chatharuhi-folder, script 4 chunks → /);
    const xiaoyu = readCharacter('xiaoyu');
    expect(xiaoyu.description).toBe(readFileSync(`${chatharuhi}/xiaoyu/system_prompt.txt`, 'utf8').trim());
    expect(xiaoyu.tags).toEqual(['chatharuhi']);
    expect(xiaoyu.scriptSettings).toEqual({ budgetTokens: 1500, minChunks: 3 });
    const script = xiaoyu.script!;
    expect(script.chunkFiles).toEqual(['profile.txt', 'text_1.txt', 'text_2.txt', 'text_10.txt']);
    for (const name of readdirSync(`${chatharuhi}/xiaoyu/texts`)) {
      expect(readFileSync(join(script.textsDirectory, name))).toEqual(readFileSync(`${chatharuhi}/xiaoyu/texts/${name}`));
    }
    expect(readFileSync(script.systemPromptFile!)).toEqual(readFileSync(`${chatharuhi}/xiaoyu/system_prompt.txt`));
  });

  test('an English folder: "act like X" names the character, the speaker under a shorter name becomes an alias', async () => {
    await cli('character', 'import', `${chatharuhi}/ortega`, '--id', 'ortega');
    const ortega = readCharacter('ortega');
    expect(ortega).toMatchObject({ name: 'Captain Ortega', language: 'en-US', aliases: ['Ortega'] });
    await cli('character', 'import', `${chatharuhi}/ortega`, '--id', 'named', '--name', 'Ortega the Bold');
    expect(readCharacter('named').name).toBe('Ortega the Bold');
  });

  test('a jsonl: row 0 the system prompt, row 1 the config, every text row a chunk file', async () => {
    const vector = Buffer.alloc(8);
    vector.writeFloatBE(0.5, 0);
    vector.writeFloatBE(-1, 4);
    const rows = [
      { text: '你正在扮演林小雨，茶馆的老板娘。', luotuo_openai: 'system_prompt' },
      { text: 'Reserve Config Setting Here', luotuo_openai: 'config' },
      { text: '林小雨:「下回再来啊」', luotuo_openai: vector.toString('base64') },
      { text: '旅人:「茶不错」\n林小雨:「那是」', luotuo_openai: vector.toString('base64') },
    ];
    const path = join(directory, 'Lin Xiaoyu.jsonl');
    writeFileSync(path, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    await cli('character', 'import', path);
    const lin = readCharacter('lin-xiaoyu');
    expect(lin).toMatchObject({ name: '林小雨', language: 'zh-CN', description: rows[0]!.text });
    expect(lin.extensions).toEqual({ chatharuhi: { format: 'jsonl', embedding_column: 'luotuo_openai', config: 'Reserve Config Setting Here' } });
    expect(lin.script!.chunkFiles).toEqual(['text_0.txt', 'text_1.txt']);
    expect(readFileSync(join(lin.script!.textsDirectory, 'text_1.txt'), 'utf8')).toBe(rows[3]!.text);
    expect(readFileSync(lin.script!.systemPromptFile!, 'utf8')).toBe(`${rows[0]!.text}\n`);
  });

  test.each([
    ['a bad vector', '{"text":"p","v":"system_prompt"}\n{"text":"t","v":"@@@"}\n', /x\.jsonl line 2: field "v": the vector is not valid base64/],
    ['no system prompt row', '{"text":"t","v":""}\n', /x\.jsonl: no system prompt row/],
    ['a line that is not JSON', '{"text":"p","v":"system_prompt"}\n{oops\n', /x\.jsonl line 2: invalid JSON/],
  ])('a jsonl with %s is refused', async (_label, content, pattern) => {
    writeFileSync(join(directory, 'x.jsonl'), content);
    expect((await cliError('character', 'import', join(directory, 'x.jsonl'))).message).toMatch(pattern);
    expect(entries()).toEqual([]);
  });

  test('a folder with a non-UTF-8 excerpt or without texts/ is refused, naming the file', async () => {
    const source = join(directory, 'gbk');
    mkdirSync(join(source, 'texts'), { recursive: true });
    writeFileSync(join(source, 'system_prompt.txt'), '你正在扮演小明。');
    writeFileSync(join(source, 'texts', 'text_1.txt'), Buffer.from([0xc3, 0xfb, 0xd7, 0xd6]));
    expect((await cliError('character', 'import', source)).message).toMatch(/gbk\/texts\/text_1\.txt: the file is not valid UTF-8 text/);
    rmSync(join(source, 'texts'), { recursive: true });
    expect((await cliError('character', 'import', source)).message).toMatch(/gbk\/texts: missing: a ChatHaruhi folder needs a texts\/ folder/);
    expect(entries()).toEqual([]);
  });

  test('progress is reported file by file', () => {
    const seen: Array<[number, number]> = [];
    importCharacter(`${chatharuhi}/xiaoyu`, { charactersDir, onProgress: (done, total) => seen.push([done, total]) });
    // character.yaml, system_prompt.txt and the five .txt files of texts/.
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7].map((done) => [done, 7]));
  });
});

describe('import: ids, --force and atomicity', () => {
  test('an existing id is refused without --force and replaced with it', async () => {
    await cli('character', 'import', `${cards}/v1-flat-en.json`, '--id', 'same');
    const error = await cliError('character', 'import', `${cards}/v3-en.json`, '--id', 'same');
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/a character "same" already exists .*; pass --force to replace it/);
    expect(readCharacter('same').name).toBe('Mira');
    const { stdout } = await cli('character', 'import', `${cards}/v3-en.json`, '--id', 'same', '--force');
    expect(stdout).toMatch(/^replaced same: Captain Ortega/);
    expect(readdirSync(join(charactersDir, 'same'))).not.toContain('lorebook.json');
    expect(entries()).toEqual(['same']);
  });

  test('an invalid --id is refused', async () => {
    expect((await cliError('character', 'import', `${cards}/v1-flat-en.json`, '--id', 'Bad Id'))).toBeInstanceOf(InputError);
  });

  test('a failure after files were written leaves no folder, and --force keeps the old character', async () => {
    await cli('character', 'import', `${cards}/v1-flat-en.json`, '--id', 'keeper');
    // An omoide folder is copied first and checked after: a broken one fails late, inside the staging folder.
    const broken = join(directory, 'broken');
    mkdirSync(join(broken, 'script', 'texts'), { recursive: true });
    writeFileSync(join(broken, 'character.yaml'), 'name: Broken\nlanguage: fr\ndescription: x\n');
    writeFileSync(join(broken, 'script', 'texts', 'text_0.txt'), 'a line');
    const error = await cliError('character', 'import', broken, '--id', 'keeper', '--force');
    expect(error.message).toBe(`${join(directory, 'broken', 'character.yaml')}: field "language": expected 'zh-CN' or 'en-US', got 'fr'`);
    expect(entries()).toEqual(['keeper']);
    expect(readCharacter('keeper').name).toBe('Mira');
    await cliError('character', 'import', broken, '--id', 'fresh');
    expect(entries()).toEqual(['keeper']);
  });
});

describe('export, and import → export → import round trips', () => {
  const formats = [
    ['card-v2', 'out.json'],
    ['card-v3', 'out.json'],
    ['png', 'out.png'],
    ['folder', 'out'],
  ] as const;
  const sources = [
    ['V2 JSON card with a lorebook', () => `${cards}/v2-zh.json`],
    ['V3 JSON card', () => `${cards}/v3-en.json`],
    ['PNG card', () => {
      const path = join(directory, 'in.png');
      writeFileSync(path, writeCardToPng(null, parseCardJson(readFileSync(`${cards}/v3-en.json`, 'utf8'), 'v3-en.json')));
      return path;
    }],
  ] as const;

  for (const [label, source] of sources) {
    test.each(formats)(`${label} → %s`, async (format, outName) => {
      await cli('character', 'import', source(), '--id', 'first');
      const out = join(directory, outName);
      const { stdout } = await cli('character', 'export', 'first', '--format', format, '--out', out);
      expect(stdout).toBe(`exported first as ${format} → ${out}\n`);
      await cli('character', 'import', out, '--id', 'second');
      const first = readCharacter('first');
      const second = readCharacter('second');
      expect(comparable(second)).toEqual(comparable(first));
      // The original card's unknown extensions survive.
      const exported = format === 'folder' ? null : readFileSync(join(charactersDir, 'second', 'card.json'), 'utf8');
      if (exported !== null && label.startsWith('V2')) {
        const before = JSON.parse(readFileSync(`${cards}/v2-zh.json`, 'utf8')).data;
        const after = JSON.parse(exported).data;
        for (const key of ['name', 'description', 'personality', 'scenario', 'first_mes', 'creator_notes', 'system_prompt', 'post_history_instructions', 'alternate_greetings', 'character_book', 'tags', 'creator', 'character_version']) {
          expect(after[key], key).toEqual(before[key]);
        }
        expect(JSON.parse(exported).data.extensions).toMatchObject({ depth_prompt: { prompt: '记得微笑。', depth: 4, role: 'system' }, some_other_tool: { nested: [1, 2, { deep: true }] } });
      }
      if (exported !== null && !label.startsWith('V2')) {
        expect(JSON.parse(exported).data.extensions.x_custom).toEqual({ keep: 'me' });
      }
    });
  }

  test('a V3 export keeps the original card\'s V3-only fields and the image', async () => {
    const v3 = readFileSync(`${cards}/v3-en.json`, 'utf8');
    const png = pngWith(tEXt('ccv3', base64(v3)), tEXt('Comment', 'made by hand'));
    writeFileSync(join(directory, 'in.png'), png);
    await cli('character', 'import', join(directory, 'in.png'), '--id', 'ortega');
    await cli('character', 'export', 'ortega', '--format', 'card-v3', '--out', join(directory, 'out.json'));
    const exported = JSON.parse(readFileSync(join(directory, 'out.json'), 'utf8'));
    const original = JSON.parse(v3);
    for (const key of ['nickname', 'group_only_greetings', 'assets', 'creator_notes_multilingual', 'source', 'creation_date', 'modification_date', 'creator_notes']) {
      expect(exported.data[key], key).toEqual(original.data[key]);
    }
    expect(exported.data.extensions.omoide).toEqual({ aliases: ['the Captain', 'Cap'], language: 'en-US' });

    await cli('character', 'export', 'ortega', '--format', 'png', '--out', join(directory, 'out.png'));
    const texts = readPngTextChunks(readFileSync(join(directory, 'out.png')), 'out.png');
    expect(texts.map((text) => text.keyword)).toEqual(['Comment', 'chara', 'ccv3']);
  });

  test('an edited character.yaml is what gets exported; the lorebook comes from lorebook.json', async () => {
    await cli('character', 'import', `${cards}/v2-zh.json`, '--id', 'lin');
    const yamlPath = join(charactersDir, 'lin', 'character.yaml');
    writeFileSync(yamlPath, readFileSync(yamlPath, 'utf8').replace('personality: 爽朗、热心、嘴快', 'personality: 安静'));
    const book = JSON.parse(readFileSync(join(charactersDir, 'lin', 'lorebook.json'), 'utf8'));
    book.entries[0].content = '改过的设定。';
    writeFileSync(join(charactersDir, 'lin', 'lorebook.json'), JSON.stringify(book));
    await cli('character', 'export', 'lin', '--format', 'card-v2', '--out', join(directory, 'lin.json'));
    const exported = JSON.parse(readFileSync(join(directory, 'lin.json'), 'utf8'));
    expect(exported.spec).toBe('chara_card_v2');
    expect(exported.data.personality).toBe('安静');
    expect(exported.data.character_book.entries[0].content).toBe('改过的设定。');
  });

  test('a ChatHaruhi character exported as a folder keeps its script', async () => {
    await cli('character', 'import', `${chatharuhi}/xiaoyu`);
    await cli('character', 'export', 'xiaoyu', '--format', 'folder', '--out', join(directory, 'copy'));
    await cli('character', 'import', join(directory, 'copy'), '--id', 'xiaoyu-copy');
    expect(comparable(readCharacter('xiaoyu-copy'))).toEqual(comparable(readCharacter('xiaoyu')));
  });

  test('export refuses an unknown id and an existing --out unless --force', async () => {
    await cli('character', 'import', `${cards}/v1-flat-en.json`);
    expect((await cliError('character', 'export', 'nobody', '--format', 'card-v2', '--out', join(directory, 'x.json'))).message).toMatch(/there is no character "nobody"/);
    writeFileSync(join(directory, 'x.json'), 'keep');
    expect((await cliError('character', 'export', 'mira', '--format', 'card-v2', '--out', join(directory, 'x.json'))).message).toMatch(/x\.json already exists; pass --force/);
    expect(readFileSync(join(directory, 'x.json'), 'utf8')).toBe('keep');
    await cli('character', 'export', 'mira', '--format', 'card-v2', '--out', join(directory, 'x.json'), '--force');
    expect(JSON.parse(readFileSync(join(directory, 'x.json'), 'utf8')).data.name).toBe('Mira');
  });
});

describe('character list', () => {
  test('shows world, lorebook entries and script chunks', async () => {
    await cli('character', 'import', `${cards}/v2-zh.json`, '--id', 'lin');
    await cli('character', 'import', `${chatharuhi}/xiaoyu`);
    mkdirSync(join(charactersDir, '_worlds'));
    writeFileSync(join(charactersDir, '_worlds', 'town.yaml'), 'name: Town\nsetting: A town.\n');
    const yamlPath = join(charactersDir, 'xiaoyu', 'character.yaml');
    writeFileSync(yamlPath, `${readFileSync(yamlPath, 'utf8')}world: town\n`);
    const { stdout } = await cli('character', 'list');
    expect(stdout.split('\n')).toEqual([
      expect.stringMatching(/^\* lin +林小雨 \(zh-CN\), lorebook 1 entry$/),
      expect.stringMatching(/^  xiaoyu +林小雨 \(zh-CN\), world town, script 4 chunks$/),
      '',
    ]);
  });
});

// The real ChatHaruhi characters, when the shared data is present beside the repository (never copied into it).
const sharedChatHaruhi = resolve(process.cwd(), '..', 'shared', 'data', 'chatharuhi');
describe.skipIf(!existsSync(sharedChatHaruhi))('import: the published ChatHaruhi folders', () => {
  test.each([
    ['haruhi', '凉宫春日', 'zh-CN', ['春日']],
    ['Luna', 'Luna', 'en-US', []],
  ])('%s', (folder, name, language, aliases) => {
    const source = join(sharedChatHaruhi, folder);
    const result = importCharacter(source, { charactersDir });
    const textCount = readdirSync(join(source, 'texts')).filter((file) => file.endsWith('.txt')).length;
    expect(result.character).toMatchObject({ name, language, aliases });
    expect(result.character.script!.chunkCount).toBeGreaterThan(0);
    expect(result.character.script!.chunkCount).toBeLessThanOrEqual(textCount);
    expect(readdirSync(result.character.script!.textsDirectory)).toHaveLength(textCount);
  });
});
