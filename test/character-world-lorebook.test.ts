import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { App } from '../src/app.js';
import { createApp } from '../src/app.js';
import { CharacterCatalog } from '../src/characters/catalog.js';
import { loadCharacter, loadCharacters } from '../src/characters/load-characters.js';
import { loadConfig } from '../src/config.js';
import { ManualClock } from '../src/core/clock.js';
import type { IncomingMessage } from '../src/core/message.js';
import type { CharacterTurn as Turn } from '../src/engine/engine.js';
import { createLorebookProvider } from '../src/engine/providers/lorebook-provider.js';
import { createWorldProvider } from '../src/engine/providers/world-provider.js';
import { logToFile, logToStderr } from '../src/util/logger.js';
import { RecordingModel } from './helpers/recording-model.js';
import { characterErrorOf } from './helpers/character.js';
import { ask } from './helpers/runtime.js';

let directory: string;
let charactersDir: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-world-'));
  charactersDir = join(directory, 'characters');
  mkdirSync(charactersDir);
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

function write(relative: string, content: string | Buffer): void {
  const path = join(charactersDir, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

const card = (name: string, extra = '') => `name: ${name}\nlanguage: en-US\ndescription: ${name} keeps the harbour light.\n${extra}`;

const harbourWorld = `name: Gullhaven
setting: A windy harbour town where the fog comes in every evening.
places:
  - name: North Pier
    description: Where the nets dry and the gulls gather.
  - name: Lighthouse
    description: White tower on the rocks, its lamp tended every night.
people:
  - name: Old Bram
    description: The ferryman, who knows every story in town.
lorebook:
  - keys: [ghost ship]
    content: Every winter a ghost ship is seen beyond the lighthouse; no one who boarded it came back.
    insertion_order: 50
`;


describe('worlds in _worlds/', () => {
  test('a character gets its world; the world is shared and ordered for the prompt', () => {
    write('_worlds/gullhaven.yaml', harbourWorld);
    write('wren/character.yaml', card('Wren', 'world: gullhaven\n'));
    write('bram/character.yaml', card('Bram', 'world: gullhaven\n'));
    const catalog = new CharacterCatalog(charactersDir, 'wren');
    expect(catalog.reload()).toEqual([]);
    const world = catalog.worldOf(catalog.get('wren')!)!;
    expect(world).toMatchObject({ id: 'gullhaven', name: 'Gullhaven', places: [{ name: 'North Pier' }, { name: 'Lighthouse' }], people: [{ name: 'Old Bram' }] });
    expect(world.lorebook?.entries[0]).toMatchObject({ keys: ['ghost ship'], insertion_order: 50, enabled: true });
    expect(catalog.worldOf(catalog.get('bram')!)).toBe(world);
    expect(catalog.listWorlds().map((w) => w.id)).toEqual(['gullhaven']);
  });

  test('the fixture world of good-zh loads (no error for it)', () => {
    const { characters, worlds, errors } = loadCharacters('test/fixtures/characters');
    expect(worlds.get('rainy-town')?.name).toBe('雨镇');
    expect(characters.get('good-zh')?.worldId).toBe('rainy-town');
    expect(errors.some((error) => error.message.includes('rainy-town'))).toBe(false);
  });

  test('a malformed world names its file and field; its characters still load, with an error on "world"', () => {
    write('_worlds/broken.yaml', 'name: Broken\nsetting: Somewhere.\nplaces:\n  - name: Pier\n    description: fine\n  - description: no name\n');
    write('wren/character.yaml', card('Wren', 'world: broken\n'));
    const { characters, worlds, errors } = loadCharacters(charactersDir);
    expect(worlds.size).toBe(0);
    expect(characters.get('wren')?.worldId).toBe('broken');
    expect(errors.map((error) => [error.file, error.field])).toEqual([
      [join(charactersDir, '_worlds', 'broken.yaml'), 'places[1].name'],
      [join(charactersDir, 'wren', 'character.yaml'), 'world'],
    ]);
    expect(errors[0]!.message).toContain('expected text, but the field is missing');
    expect(errors[1]!.problem).toMatch(/world "broken" could not be loaded \(see the error for .*broken\.yaml\); the character is used without it/);
  });

  test('a missing world is reported with the file it should be in', () => {
    write('wren/character.yaml', card('Wren', 'world: nowhere\n'));
    const catalog = new CharacterCatalog(charactersDir, 'wren');
    const errors = catalog.reload();
    expect(catalog.get('wren')).toBeDefined();
    expect(catalog.worldOf(catalog.get('wren')!)).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe(
      `${join(charactersDir, 'wren', 'character.yaml')}: field "world": world "nowhere" not found: expected ${join(charactersDir, '_worlds', 'nowhere.yaml')}; the character is used without it`,
    );
  });

  test.each([
    ['setting: x\n', 'name', 'expected text, but the field is missing'],
    ['name: X\nsetting: y\nplace: []\n', 'place', 'unknown field'],
    ['name: X\nsetting: y\npeople: Bram\n', 'people', "expected a list of people, each with name and description, got 'Bram'"],
    ['name: X\nsetting: y\nlorebook:\n  - keys: ship\n    content: c\n', 'lorebook.0.keys', ''],
  ])('world file %j → field %s', (yaml, field, problem) => {
    write('_worlds/w.yaml', yaml);
    const { errors } = loadCharacters(charactersDir);
    expect(errors[0]?.file).toBe(join(charactersDir, '_worlds', 'w.yaml'));
    expect(errors[0]?.field).toBe(field);
    expect(errors[0]?.problem).toContain(problem);
  });

  test('invalid YAML in a world names the line', () => {
    write('_worlds/w.yaml', 'name: X\nsetting: [unclosed\n');
    expect(loadCharacters(charactersDir).errors[0]?.message).toMatch(/w\.yaml: invalid YAML at line \d+/);
  });
});

describe('a character folder\'s lorebook file', () => {
  test('lorebook.json as a card character_book', () => {
    write('wren/character.yaml', card('Wren'));
    write('wren/lorebook.json', JSON.stringify({ name: 'Pier', scan_depth: 2, entries: [{ keys: ['tide'], content: 'The tide turns at six.', insertion_order: 3 }] }));
    const wren = loadCharacter(join(charactersDir, 'wren'));
    expect(wren.lorebook).toEqual({
      name: 'Pier',
      scan_depth: 2,
      extensions: {},
      entries: [{ keys: ['tide'], content: 'The tide turns at six.', extensions: {}, enabled: true, insertion_order: 3 }],
    });
  });

  test('lorebook.yaml in SillyTavern world-info shape is converted, unknown fields kept in extensions', () => {
    write('wren/character.yaml', card('Wren'));
    write(
      'wren/lorebook.yaml',
      [
        'entries:',
        '  "0":',
        '    uid: 0',
        '    key: [storm]',
        '    keysecondary: []',
        '    content: Storms come from the north-east.',
        '    order: 20',
        '    disable: false',
        '    position: 1',
        '    probability: 100',
        '  "7":',
        '    uid: 7',
        '    key: [smuggler]',
        '    content: Hidden',
        '    disable: true',
      ].join('\n'),
    );
    const entries = loadCharacter(join(charactersDir, 'wren')).lorebook!.entries;
    expect(entries).toEqual([
      {
        id: 0,
        keys: ['storm'],
        secondary_keys: [],
        content: 'Storms come from the north-east.',
        insertion_order: 20,
        enabled: true,
        position: 'after_char',
        extensions: { position: 1, probability: 100 },
      },
      { id: 7, keys: ['smuggler'], content: 'Hidden', insertion_order: 100, enabled: false, extensions: {} },
    ]);
  });

  test('a malformed lorebook keeps the character from loading, naming the lorebook file and field', () => {
    write('wren/character.yaml', card('Wren'));
    write('wren/lorebook.json', JSON.stringify({ entries: [{ keys: ['a'], content: 5 }] }));
    const error = characterErrorOf(() => loadCharacter(join(charactersDir, 'wren')));
    expect(error.file).toBe(join(charactersDir, 'wren', 'lorebook.json'));
    expect(error.field).toBe('lorebook.entries.0.content');
    write('wren/lorebook.json', '{ "entries": [ }');
    expect(characterErrorOf(() => loadCharacter(join(charactersDir, 'wren'))).message).toMatch(/lorebook\.json: invalid JSON/);
    write('wren/lorebook.yaml', 'entries: []\n');
    expect(characterErrorOf(() => loadCharacter(join(charactersDir, 'wren'))).message).toMatch(/more than one lorebook file \(lorebook\.json, lorebook\.yaml\)/);
  });
});

describe('a character folder\'s script', () => {
  test('is recorded with its chunk files, count and a hash of names and bytes; settings default as ChatHaruhi', () => {
    write('haru/character.yaml', card('Haru'));
    write('haru/script/system_prompt.txt', 'You are Haru.\n');
    write('haru/script/texts/text_10.txt', 'Haru:「ten」');
    write('haru/script/texts/text_2.txt', 'Haru:「two」');
    write('haru/script/texts/empty.txt', '  \n');
    write('haru/script/texts/notes.md', 'not a chunk');
    const haru = loadCharacter(join(charactersDir, 'haru'));
    const script = haru.script!;
    expect(script.directory).toBe(join(charactersDir, 'haru', 'script'));
    expect(script.systemPromptFile).toBe(join(charactersDir, 'haru', 'script', 'system_prompt.txt'));
    expect(script.chunkFiles).toEqual(['text_2.txt', 'text_10.txt']);
    expect(script.chunkCount).toBe(2);
    const expected = createHash('sha256');
    for (const [name, text] of [['system_prompt.txt', 'You are Haru.\n'], ['texts/empty.txt', '  \n'], ['texts/text_2.txt', 'Haru:「two」'], ['texts/text_10.txt', 'Haru:「ten」']] as const) {
      expected.update(`${name}\u0000${Buffer.byteLength(text)}\u0000`).update(text);
    }
    expect(script.hash).toBe(expected.digest('hex'));
    expect(haru.scriptSettings).toEqual({ budgetTokens: 1500, minChunks: 3 });

    write('haru/script/texts/text_2.txt', 'Haru:「two!」');
    expect(loadCharacter(join(charactersDir, 'haru')).script!.hash).not.toBe(script.hash);
  });

  test('script settings in character.yaml; a character without script/ has script null', () => {
    write('haru/character.yaml', card('Haru', 'script:\n  budget_tokens: 800\n  min_chunks: 1\n'));
    const haru = loadCharacter(join(charactersDir, 'haru'));
    expect(haru.script).toBeNull();
    expect(haru.scriptSettings).toEqual({ budgetTokens: 800, minChunks: 1 });
  });

  test.each([
    ['script:\n  budget_token: 800\n', 'script.budget_token', 'unknown field; did you mean "budget_tokens"?'],
    ['script:\n  min_chunks: -1\n', 'script.min_chunks', 'expected a whole number, at least 0, got the number -1'],
  ])('bad script settings %j', (extra, field, problem) => {
    write('haru/character.yaml', card('Haru', extra));
    const error = characterErrorOf(() => loadCharacter(join(charactersDir, 'haru')));
    expect([error.field, error.problem]).toEqual([field, problem]);
  });

  test('a script without texts/ or with a non-UTF-8 chunk is an error naming it', () => {
    write('haru/character.yaml', card('Haru'));
    mkdirSync(join(charactersDir, 'haru', 'script'));
    expect(characterErrorOf(() => loadCharacter(join(charactersDir, 'haru'))).message).toMatch(/haru\/script: a script folder needs a texts\/ folder/);
    write('haru/script/texts/text_1.txt', Buffer.from([0x48, 0x0a, 0xc3, 0xfb]));
    expect(characterErrorOf(() => loadCharacter(join(charactersDir, 'haru'))).message).toMatch(/text_1\.txt: the file is not valid UTF-8 text \(first bad byte on line 2\)/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The providers inside a real engine turn.


let sequence = 0;
function message(text: string, name = 'Aki'): IncomingMessage {
  sequence++;
  return {
    platform: 'console',
    guildId: null,
    channelId: 'terminal',
    messageId: `m${sequence}`,
    author: { id: name.toLowerCase(), displayName: name },
    text,
    addressing: { mentioned: false, repliedToBot: false, direct: true },
    replyTo: null,
    timestamp: new Date(Date.UTC(2024, 4, 1, 12, sequence)),
  };
}

describe('world and lorebook providers in an engine turn', () => {
  let app: App | undefined;
  let model: RecordingModel;

  beforeEach(() => {
    logToFile(join(directory, 'test.log'));
    model = new RecordingModel('Aye.');
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    logToStderr();
  });

  async function start(lorebookBudget = 600): Promise<App> {
    writeFileSync(
      join(directory, 'config.yaml'),
      `charactersDir: ${JSON.stringify(charactersDir)}\ndefaultCharacter: wren\nprompt:\n  budgets:\n    lorebook: ${lorebookBudget}\n`,
    );
    const config = loadConfig({ env: { OMOIDE_DATA_DIR: join(directory, 'data') }, cwd: directory });
    app = await createApp(config, { chatModel: model, clock: new ManualClock(new Date(Date.UTC(2024, 4, 1))) });
    return app;
  }

  function writeWren(): void {
    write('_worlds/gullhaven.yaml', harbourWorld);
    write('wren/character.yaml', card('Wren', 'world: gullhaven\n'));
    write(
      'wren/lorebook.json',
      JSON.stringify({
        entries: [
          { keys: ['kraken'], content: 'The kraken of the bay only rises when {{user}} is at sea.', insertion_order: 10, priority: 1 },
          { keys: ['/lantern(s)?/i'], content: 'Wren trims the pier lanterns at dusk.', insertion_order: 20, priority: 9 },
          { keys: ['anchor'], content: 'Disabled entry.', enabled: false, insertion_order: 1 },
        ],
      }),
    );
  }

  test('lorebook entries appear in the system prompt only when their key was said', async () => {
    writeWren();
    const { engine } = await start();
    await ask(engine, message('Good morning, Wren.'));
    expect(model.systemPrompt()).not.toContain('kraken of the bay');
    expect(model.systemPrompt()).not.toContain('ghost ship is seen');

    await ask(engine, message('Is the KRAKEN real? And what about the anchor?'));
    const withKraken = model.systemPrompt();
    expect(withKraken).toContain('## Background knowledge');
    // {{user}} is resolved for the person speaking.
    expect(withKraken).toContain('The kraken of the bay only rises when Aki is at sea.');
    expect(withKraken).not.toContain('lanterns at dusk');
    expect(withKraken).not.toContain('Disabled entry.');

    // The world's book and a regex key; the kraken, said two messages ago, is still within the scan depth.
    await ask(engine, message('Who lights the lanterns? I saw a ghost ship.'));
    const both = model.systemPrompt();
    const order = ['kraken of the bay', 'ghost ship is seen', 'lanterns at dusk'].map((text) => both.indexOf(text));
    expect(order.every((index) => index > 0)).toBe(true);
    // insertion_order across both books: 10 (character), 20 (character), 50 (world) — the world's comes last.
    expect(order[0]!).toBeLessThan(order[2]!);
    expect(order[2]!).toBeLessThan(order[1]!);
  });

  test('entries that do not fit the lorebook budget are dropped, lowest priority first', async () => {
    writeWren();
    // Room for the heading allowance and about one entry: the lantern entry (priority 9) wins over the kraken (1).
    const { engine } = await start(40);
    await ask(engine, message('The kraken took my lanterns!'));
    const prompt = model.systemPrompt();
    expect(prompt).toContain('lanterns at dusk');
    expect(prompt).not.toContain('kraken of the bay');
  });

  test('the world section: setting first, then the places and people named in the conversation', async () => {
    writeWren();
    const { engine } = await start();
    await ask(engine, message('Hello!'));
    const first = model.systemPrompt();
    expect(first).toContain('## World\nGullhaven: A windy harbour town where the fog comes in every evening.\n\nNorth Pier: Where the nets dry');
    expect(first.indexOf('North Pier:')).toBeLessThan(first.indexOf('Old Bram:'));
    await ask(engine, message('Have you seen old bram today?'));
    const second = model.systemPrompt();
    expect(second).toContain('Gullhaven: A windy harbour town where the fog comes in every evening.\n\nOld Bram: The ferryman');
  });

  test('a character without world or lorebook gets neither section', async () => {
    write('wren/character.yaml', card('Wren'));
    const { engine } = await start();
    await ask(engine, message('kraken lanterns'));
    expect(model.systemPrompt()).not.toContain('## World');
    expect(model.systemPrompt()).not.toContain('## Background knowledge');
  });
});

describe('providers on their own', () => {
  function turn(character: ReturnType<CharacterCatalog['get']>, text: string, history: string[] = []): Turn {
    return {
      message: message(text),
      character: character!,
      userId: 1,
      conversationId: 1,
      messageId: 1,
      history: history.map((content) => ({ role: 'user', speakerName: 'Aki', content, tokenCount: 1 })),
      locale: 'en-US',
    };
  }

  test('scan depth: a key said longer ago than the depth no longer triggers; a book\'s scan_depth wins', () => {
    write('wren/character.yaml', card('Wren'));
    write('wren/lorebook.json', JSON.stringify({ entries: [{ keys: ['kraken'], content: 'Kraken lore.' }] }));
    const catalog = new CharacterCatalog(charactersDir, 'wren');
    catalog.reload();
    const provider = createLorebookProvider(catalog, { budgetTokens: 600, scanDepth: 2 });
    const wren = catalog.get('wren');
    expect(provider.collect(turn(wren, 'hi', ['kraken!']))).toEqual(['Kraken lore.']);
    expect(provider.collect(turn(wren, 'hi', ['kraken!', 'something else']))).toEqual([]);

    write('wren/lorebook.json', JSON.stringify({ scan_depth: 5, entries: [{ keys: ['kraken'], content: 'Kraken lore.' }] }));
    catalog.reload();
    expect(provider.collect(turn(catalog.get('wren'), 'hi', ['kraken!', 'a', 'b', 'c']))).toEqual(['Kraken lore.']);
  });

  test('the world provider gives nothing to a character whose world is missing', () => {
    write('wren/character.yaml', card('Wren', 'world: gone\n'));
    const catalog = new CharacterCatalog(charactersDir, 'wren');
    catalog.reload();
    expect(createWorldProvider(catalog).collect(turn(catalog.get('wren'), 'hello'))).toEqual([]);
  });
});
