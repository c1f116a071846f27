import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Character } from '../src/characters/character.js';
import { loadCharacter, loadCharacters, parseCharacterYaml } from '../src/characters/load-characters.js';
import { resolveMacros } from '../src/characters/macros.js';
import { parseWorldYaml } from '../src/characters/world.js';
import { CharacterError } from '../src/core/errors.js';
import { countTokens } from '../src/core/tokens.js';
import { shippedCharactersDirectory } from '../src/util/paths.js';
import { characterErrorOf } from './helpers/character.js';

// vitest runs from the repository root, so errors show this relative path, as a person running omoide would see it.
const fixtures = 'test/fixtures/characters';
const fixtureFile = (id: string, name = 'character.yaml') => `${fixtures}/${id}/${name}`;


const parse = (text: string) => parseCharacterYaml(text, { id: 'probe', directory: '/cards/probe', file: '/cards/probe/character.yaml' });

describe('shipped characters', () => {
  const { characters, errors } = loadCharacters(shippedCharactersDirectory);

  test('all load without errors', () => {
    expect(errors.map((error) => error.message)).toEqual([]);
    expect([...characters.keys()].sort()).toEqual(['juniper', 'xiaoman']);
  });

  test.each([
    ['xiaoman', '苏小满', 'zh-CN', ['小满', '店主']],
    ['juniper', 'Juniper Hale', 'en-US', ['June']],
  ] as const)('%s has every part of a rich card', (id, name, language, aliases) => {
    const character = characters.get(id)!;
    expect(character.name).toBe(name);
    expect(character.language).toBe(language);
    expect(character.aliases).toEqual(expect.arrayContaining([...aliases]));
    for (const text of [character.description, character.personality, character.scenario, character.systemPrompt, character.postHistoryInstructions]) {
      expect(text.length).toBeGreaterThan(10);
    }
    expect(character.description).toContain('{{char}}');
    expect(character.greeting).not.toBeNull();
    expect(character.alternateGreetings.length).toBeGreaterThanOrEqual(1);
    expect(character.exampleDialogues.length).toBeGreaterThanOrEqual(2);
    expect(character.exampleDialogues.length).toBeLessThanOrEqual(3);
    for (const dialogue of character.exampleDialogues) {
      expect(dialogue.some((turn) => turn.speaker === 'char')).toBe(true);
    }
    expect(character.tags.length).toBeGreaterThan(0);
    expect(character.creator).toBe('omoide');
    expect(character.characterVersion).toBe('1.0');
    expect(character.model.temperature).toBeGreaterThan(0);
    expect(character.worldId).toBeNull();
    expect(character.lorebook).toBeNull();
    expect(character.script).toBeNull();
    expect(character.file).toBe(join(shippedCharactersDirectory, id, 'character.yaml'));
  });

  test.each(['xiaoman', 'juniper'])('%s fits the default prompt budgets (system 1200, examples 600 tokens)', (id) => {
    const character = characters.get(id)!;
    // Leave room in the system budget for the role-play rules and section headings the prompt adds.
    const persona = [character.description, character.personality, character.scenario, character.systemPrompt, character.postHistoryInstructions];
    expect(countTokens(persona.join('\n\n'))).toBeLessThan(950);
    const examples = character.exampleDialogues.map((dialogue) => dialogue.map((turn) => `${turn.speaker}: ${turn.text}`).join('\n'));
    expect(countTokens(examples.join('\n\n'))).toBeLessThan(550);
  });
});

describe('fixtures: good cards load, each bad one gives an error naming file and field', () => {
  const { characters, errors } = loadCharacters(fixtures);
  const errorFor = (file: string) => errors.find((error) => error.file === file);

  test('only the good cards load; folders without a card are skipped', () => {
    expect([...characters.keys()].sort()).toEqual(['good-en', 'good-zh']);
    expect(errors).toHaveLength(9);
    expect(errors.every((error) => error instanceof CharacterError)).toBe(true);
    expect(errors.some((error) => error.file.includes('no-card'))).toBe(false);
  });

  test('a minimal card gets empty defaults', () => {
    const wren = characters.get('good-en')!;
    expect(wren).toMatchObject({
      id: 'good-en',
      name: 'Wren',
      aliases: [],
      language: 'en-US',
      description: '{{char}} mends fishing nets on a pier and talks to {{user}} about the tides.',
      personality: '',
      scenario: '',
      worldId: null,
      greeting: null,
      alternateGreetings: [],
      exampleDialogues: [],
      systemPrompt: '',
      postHistoryInstructions: '',
      tags: [],
      creator: '',
      characterVersion: '',
      model: {},
      extensions: {},
      lorebook: null,
      script: null,
      scriptSettings: { budgetTokens: 1500, minChunks: 3 },
    });
  });

  test('a full card saved as .yml keeps every field, macros unresolved', () => {
    const lin: Character = characters.get('good-zh')!;
    expect(lin.file.endsWith(join('good-zh', 'character.yml'))).toBe(true);
    expect(lin.name).toBe('林晚');
    expect(lin.aliases).toEqual(['晚晚', '阿晚']);
    expect(lin.language).toBe('zh-CN');
    expect(lin.description).toBe('{{char}}是茶馆的掌柜，喜欢听{{user}}讲路上的见闻。');
    expect(lin.worldId).toBe('rainy-town');
    expect(lin.greeting).toBe('来啦，{{user}}？坐，茶马上好。');
    expect(lin.alternateGreetings).toEqual(['今天人少，你随便坐。']);
    expect(lin.exampleDialogues).toEqual([
      [
        { speaker: 'user', text: '掌柜的，有什么好茶？' },
        { speaker: 'char', text: '雨前龙井，刚到的。' },
      ],
      [
        { speaker: 'char', text: '又来蹭茶啦？' },
        { speaker: 'user', text: '嘿嘿。' },
      ],
    ]);
    expect(lin.systemPrompt).toBe('回复简短。');
    expect(lin.postHistoryInstructions).toBe('保持{{char}}的语气。');
    expect(lin.tags).toEqual(['测试', '茶馆']);
    expect(lin.creator).toBe('omoide tests');
    // Written unquoted as `1.0`: YAML reads a number, the loader keeps the text as written.
    expect(lin.characterVersion).toBe('1.0');
    expect(lin.model).toEqual({ temperature: 0.7, topP: 0.9, maxReplyTokens: 200, contextWindow: 8192 });
    expect(lin.extensions).toEqual({ omoide_test: { nested: { anything: [1, 2, 3] }, 'Weird-Key': true } });
  });

  test('unknown language: the exact message', () => {
    expect(errorFor(fixtureFile('bad-language'))?.message).toBe(
      `${fixtures}/bad-language/character.yaml: field "language": expected 'zh-CN' or 'en-US', got 'fr'`,
    );
  });

  test.each([
    ['missing-name', 'name', 'expected text, but the field is missing'],
    ['wrong-type', 'aliases', "expected a list of names, got '福伯'"],
    ['unknown-key', 'personalty', 'unknown field; did you mean "personality"?'],
    ['bad-dialogue', 'example_dialogues[1][1].bot', 'unknown field; expected one of "user", "char"'],
    ['bad-model', 'model.temperature', 'expected a number from 0 to 2, got the number 5'],
  ])('%s → field %s', (id, field, problem) => {
    const error = errorFor(fixtureFile(id));
    expect(error, `no error for ${id}`).toBeDefined();
    expect(error!.field).toBe(field);
    expect(error!.problem).toBe(problem);
    expect(error!.message).toBe(`${fixtureFile(id)}: field "${field}": ${problem}`);
  });

  test('a YAML syntax error names the line', () => {
    const error = errorFor(fixtureFile('bad-yaml'))!;
    expect(error.field).toBeNull();
    expect(error.message).toContain(`${fixtureFile('bad-yaml')}: invalid YAML at line 3, column 11`);
    expect(error.message).toContain('greeting: Tip: bring an umbrella');
  });

  test('a folder name that is not a valid id is refused', () => {
    expect(errorFor(fixtureFile('BadCase'))?.problem).toMatch(/folder name "BadCase" is not a valid character id/);
  });

  test('both character.yaml and character.yml in one folder is refused', () => {
    expect(errorFor(`${fixtures}/both-names`)?.problem).toMatch(/both character\.yaml and character\.yml exist/);
  });

  test('loadCharacter throws the same error for one folder, and loads a good one', () => {
    expect(characterErrorOf(() => loadCharacter(`${fixtures}/bad-language`)).field).toBe('language');
    expect(loadCharacter(`${fixtures}/good-en`).name).toBe('Wren');
    expect(characterErrorOf(() => loadCharacter(`${fixtures}/no-card`)).problem).toMatch(/no character\.yaml or character\.yml/);
  });
});

describe('files that are not usable text', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'omoide-characters-'));
  });
  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });
  const writeCard = (id: string, content: string | Buffer) => {
    mkdirSync(join(directory, id));
    writeFileSync(join(directory, id, 'character.yaml'), content);
  };

  test('non-UTF-8 (GBK) and over 1 MiB are refused, the good card beside them still loads', () => {
    const gbkName = Buffer.from([0xc3, 0xfb, 0xd7, 0xd6]); // "名字" in GBK
    writeCard('gbk', Buffer.concat([Buffer.from('language: zh-CN\ndescription: x\nname: '), gbkName, Buffer.from('\n')]));
    writeCard('huge', `name: Big\nlanguage: en-US\ndescription: |\n${'  padding padding padding padding padding\n'.repeat(30_000)}`);
    writeCard('fine', 'name: Fine\nlanguage: en-US\ndescription: Perfectly ordinary.\n');
    mkdirSync(join(directory, '.hidden'));
    writeFileSync(join(directory, 'stray-file.yaml'), 'not a folder');

    const { characters, errors } = loadCharacters(directory);
    expect([...characters.keys()]).toEqual(['fine']);
    const messages = errors.map((error) => error.message);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain(join(directory, 'gbk', 'character.yaml'));
    expect(messages[0]).toMatch(/not valid UTF-8 text \(first bad byte on line 3\)/);
    expect(messages[1]).toContain(join(directory, 'huge', 'character.yaml'));
    expect(messages[1]).toMatch(/the file is 1\.\d MiB; a character file may be at most 1 MiB/);
  });

  test('a byte-order mark and Windows line endings are fine', () => {
    writeCard('windows', '\uFEFFname: Win\r\nlanguage: en-US\r\ndescription: |\r\n  Line one.\r\n  Line two.\r\n');
    const character = loadCharacter(join(directory, 'windows'));
    expect(character.name).toBe('Win');
    expect(character.description).toBe('Line one.\nLine two.');
  });

  test('a missing characters folder is reported, not thrown', () => {
    const { characters, errors } = loadCharacters(join(directory, 'nope'));
    expect(characters.size).toBe(0);
    expect(errors[0]?.problem).toMatch(/cannot read the characters folder \(ENOENT\)/);
  });
});

describe('parseCharacterYaml', () => {
  const base = 'name: Probe\nlanguage: en-US\ndescription: A probe.\n';

  test.each([
    ['name: a\nname: b\nlanguage: en-US\n', /invalid YAML at line 2, column 1: Map keys must be unique/],
    ['name: a\n\tlanguage: en-US\n', /invalid YAML at line 2/],
    ['name: a\nlanguage: en-US\ndescription: [unclosed\n', /invalid YAML at line \d+/],
  ])('YAML syntax errors name the line: %j', (text, pattern) => {
    const error = characterErrorOf(() => parse(text));
    expect(error.field).toBeNull();
    expect(error.message).toMatch(pattern);
    expect(error.message.startsWith('/cards/probe/character.yaml: ')).toBe(true);
  });

  test.each([
    ['', null, /the file is empty/],
    ['- a\n- b\n', null, /expected a mapping of fields .*, got a list of 2 items/],
    ['language: en-US\nname: 1984\ndescription: x\n', 'name', /expected text, got the number 1984 \(put it in quotes/],
    [`${base}greeting: [a]\n`, 'greeting', /expected text, got a list of 1 item$/],
    [`${base}world: Big World\n`, 'world', /expected a world id/],
    [`${base}tags: [a, 2]\n`, 'tags[1]', /expected text, got the number 2/],
    [`${base}model: {temprature: 1}\n`, 'model.temprature', /unknown field; did you mean "temperature"\?/],
    [`${base}model: {top_p: 0}\n`, 'model.top_p', /expected a number greater than 0 and at most 1, got the number 0$/],
    [`${base}model: {max_reply_tokens: 2.5}\n`, 'model.max_reply_tokens', /expected a whole number of tokens/],
    [`${base}model: {max_reply_tokens: 9000, context_window: 4096}\n`, 'model.max_reply_tokens', /smaller than context_window/],
    [`${base}example_dialogues:\n  - - user: a\n      char: b\n`, 'example_dialogues[0][0]', /exactly one of/],
    [`${base}example_dialogues:\n  - []\n`, 'example_dialogues[0]', /at least one turn/],
    [`${base}example_dialogues: hello\n`, 'example_dialogues', /expected a list of dialogues/],
    [`${base}extensions: [1]\n`, 'extensions', /expected a mapping of extension data/],
    [`${base}wierd_field: 1\n`, 'wierd_field', /unknown field; put your own data under "extensions"/],
    ['name: "  "\nlanguage: en-US\ndescription: x\n', 'name', /expected non-empty text, got empty text/],
  ])('%j → field %s', (text, field, pattern) => {
    const error = characterErrorOf(() => parse(text));
    expect(error.field).toBe(field);
    expect(error.problem).toMatch(pattern);
  });

  test.each([
    [`${base}greeting: {{user}}\n`, 'line 4, column 11'],
    [`${base}greeting: {{user}}, welcome\n`, 'line 4'],
    [`${base}example_dialogues:\n  - - char: {{user}}!\n`, 'line 5'],
  ])('an unquoted {{macro}} at the start of a value gets a quoting hint: %j', (text, where) => {
    const error = characterErrorOf(() => parse(text));
    expect(error.message).toContain(`invalid YAML at ${where}`);
    expect(error.message).toContain('text that starts with {{ must be in quotes');
  });

  test('the first problem reported is the one nearest the top of the file', () => {
    const error = characterErrorOf(() => parse('name: a\nlanguage: fr\ndescription: 3\ncolour: red\n'));
    expect(error.field).toBe('language');
  });

  test('empty optional values are treated as absent; text is trimmed; the name is not repeated as an alias', () => {
    const character = parse(`${base}aliases: [Probe, P, P]\ngreeting:\npersonality: ~\nscenario: "  at sea  "\n`);
    expect(character.aliases).toEqual(['P']);
    expect(character.greeting).toBeNull();
    expect(character.personality).toBe('');
    expect(character.scenario).toBe('at sea');
  });

  test('anything goes under extensions', () => {
    const character = parse(`${base}extensions:\n  depth_prompt: { depth: 4, prompt: "{{char}} hums." }\n  Any-Key: [1, {a: b}]\n`);
    expect(character.extensions).toEqual({ depth_prompt: { depth: 4, prompt: '{{char}} hums.' }, 'Any-Key': [1, { a: 'b' }] });
  });
});

test('the full example in docs/characters.md is a valid card', () => {
  const documentation = readFileSync('docs/characters.md', 'utf8');
  const examples = [...documentation.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const example = examples.find((text) => text.startsWith('# characters/wren/character.yaml'));
  expect(example).toBeDefined();
  const wren = parseCharacterYaml(example!, { id: 'wren', directory: '/docs/wren', file: '/docs/wren/character.yaml' });
  expect(wren).toMatchObject({ name: 'Wren Calloway', worldId: 'harbour-towns', characterVersion: '1.2', extensions: { my_tool: { colour: 'teal' } } });
  expect(wren.exampleDialogues).toHaveLength(2);
  expect(wren.model).toEqual({ temperature: 0.8, topP: 0.95, maxReplyTokens: 250, contextWindow: 8192 });
  expect(wren.scriptSettings).toEqual({ budgetTokens: 1200, minChunks: 2 });

  const worldExample = examples.find((text) => text.startsWith('# characters/_worlds/harbour-towns.yaml'));
  const world = parseWorldYaml(worldExample!, 'harbour-towns', '/docs/_worlds/harbour-towns.yaml');
  expect(world).toMatchObject({ name: 'The Harbour Towns', places: [{ name: 'North Pier' }], people: [{ name: 'Old Bram' }] });
  expect(world.lorebook?.entries).toHaveLength(1);
});

describe('resolveMacros', () => {
  const names = { char: '苏小满', user: 'Alex' };

  test('replaces {{char}} and {{user}}, case-insensitive, spaces tolerated', () => {
    expect(resolveMacros('{{char}} greets {{user}}.', names)).toBe('苏小满 greets Alex.');
    expect(resolveMacros('{{ User }} and {{CHAR}} and {{  char  }}', names)).toBe('Alex and 苏小满 and 苏小满');
  });

  test('accepts the SillyTavern <BOT>, <CHAR> and <USER> spellings', () => {
    expect(resolveMacros('<BOT> waves at <USER>; <char> smiles at <user>.', names)).toBe('苏小满 waves at Alex; 苏小满 smiles at Alex.');
  });

  test('leaves other braces alone and inserts names literally', () => {
    expect(resolveMacros('{{random}} {char} {{ charlie }}', names)).toBe('{{random}} {char} {{ charlie }}');
    expect(resolveMacros('hi {{user}}', { char: 'x', user: '$& {{char}}' })).toBe('hi $& {{char}}');
  });

  test('text without macros is returned unchanged', () => {
    expect(resolveMacros('纯文本，没有宏。', names)).toBe('纯文本，没有宏。');
  });
});
