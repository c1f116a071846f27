/**
 * Inputs the fuzz tests (test/fuzz-*.test.ts) found to crash or stall omoide, kept as plain examples. Each one names
 * what it did before the fix.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitExampleMessages } from '../src/characters/card/parse-card.js';
import { parseChatHaruhiJsonl } from '../src/characters/chatharuhi/parse-jsonl.js';
import { parseScriptText } from '../src/characters/chatharuhi/parse-texts.js';
import { importCharacter } from '../src/characters/import/import-character.js';
import { loadCharacters, parseCharacterYaml } from '../src/characters/load-characters.js';
import { readLorebookFile } from '../src/characters/lorebook-file.js';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/core/errors.js';
import { characterErrorOf } from './helpers/character.js';
import { snapshotFolder } from './helpers/fuzz.js';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-fuzz-found-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const source = { id: 'wren', directory: '/nowhere/wren', file: '/nowhere/wren/character.yaml' };
const header = 'name: Wren\nlanguage: en-US\ndescription: Keeps the light.\n';

/** Milliseconds `run` takes. */
function elapsed(run: () => unknown): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

function write(relative: string, content: string): string {
  const path = join(directory, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

describe('data nested too deeply, or containing itself', () => {
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('a card nested 10,000 levels deep is refused, and importing it writes nothing (was a RangeError from the importer)', () => {
    const charactersDir = join(directory, 'characters');
    mkdirSync(charactersDir);
    const card = write('deep.json', `{"spec":"chara_card_v2","data":{"name":"Deep","extensions":{"x":${deep(10_000)}}}}`);
    expect(characterErrorOf(() => importCharacter(card, { charactersDir })).message).toMatch(/deep\.json: the data is nested more than 100 levels deep/);
    expect(snapshotFolder(charactersDir)).toEqual({ '/': 'folder' });
  });

  it('a lorebook file nested 10,000 levels deep is refused (its character could not be exported)', () => {
    const book = write('lorebook.json', `[{"keys":["a"],"content":"A","extensions":{"x":${deep(10_000)}}}]`);
    expect(characterErrorOf(() => readLorebookFile(book)).problem).toBe('the data is nested more than 100 levels deep');
  });

  it('YAML nested 5,000 levels deep is refused before the parser recurses (was "Maximum call stack size exceeded")', () => {
    const error = characterErrorOf(() => parseCharacterYaml(`${header}extensions:\n  x: ${deep(5_000)}\n`, source));
    expect(error.message).toMatch(/invalid YAML at line 5, column \d+: collections are nested more than 100 levels deep/);
  });

  it('a YAML alias inside its own anchor is refused (the character loaded, and exporting it threw)', () => {
    const error = characterErrorOf(() => parseCharacterYaml(`${header}extensions:\n  loop: &x [*x]\n`, source));
    expect(error.problem).toMatch(/a value contains itself/);
  });

  it('a world file whose aliases expand too far is reported, and the characters still load (loadCharacters threw)', () => {
    write('characters/wren/character.yaml', header);
    write('characters/_worlds/bomb.yaml', 'name: B\nsetting: S\nextensions:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n');
    const { characters, errors } = loadCharacters(join(directory, 'characters'));
    expect([...characters.keys()]).toEqual(['wren']);
    expect(errors.map((error) => error.problem)).toEqual([expect.stringMatching(/alias/i)]);
  });

  it('a config.yaml alias inside its own anchor is a ConfigError', () => {
    const path = write('config.yaml', 'llm: &x {model: *x}\n');
    expect(() => loadConfig({ path, env: {}, cwd: directory })).toThrow(ConfigError);
  });
});

describe('YAML that took the parser quadratic time', () => {
  it('a mapping of 40,000 keys loads in seconds (took 25 s: every key was compared with every other)', () => {
    const keys = Array.from({ length: 40_000 }, (_, index) => `  key${index}: ${index}\n`).join('');
    expect(elapsed(() => parseCharacterYaml(`${header}extensions:\n${keys}`, source))).toBeLessThan(5_000);
  });

  it('30,000 duplicate keys on one line are refused in seconds, at the first one (took 10 s)', () => {
    let message = '';
    const ms = elapsed(() => {
      message = characterErrorOf(() => parseCharacterYaml(`${header}extensions: {${'k: 1, '.repeat(30_000)}}\n`, source)).message;
    });
    expect(message).toMatch(/invalid YAML at line 4, column 20: Map keys must be unique/);
    expect(ms).toBeLessThan(5_000);
  });

  it('a line of 30,000 syntax errors is refused in seconds (took 8 s)', () => {
    const text = `${header}extensions:\n]    - ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`;
    expect(elapsed(() => characterErrorOf(() => parseCharacterYaml(text, source)))).toBeLessThan(5_000);
  });
});

describe('regular expressions that backtracked on long lines', () => {
  it("a card's example messages with a line of 20,000 spaces split at once (took over 20 s)", () => {
    expect(elapsed(() => splitExampleMessages(`{{user}}: hi\n${' '.repeat(20_000)}x\n{{char}}: hello`))).toBeLessThan(1_000);
    expect(splitExampleMessages(`  {{user}}  :  hi\n{{char}}: hello`)).toEqual([[{ speaker: 'user', text: 'hi' }, { speaker: 'char', text: 'hello' }]]);
  });

  it('a script line with 60,000 spaces before its text is read at once (took 8 s)', () => {
    let lines: ReturnType<typeof parseScriptText>['lines'] = [];
    expect(elapsed(() => (lines = parseScriptText(`阿虚:「你好」\n春日: a${' '.repeat(60_000)}b (笑)`, 'text_0.txt').lines))).toBeLessThan(1_000);
    expect(lines[1]).toMatchObject({ role: '春日', direction: '笑' });
  });
});

describe('errors that did not say where', () => {
  it('a jsonl whose embedding column is named "" names it in errors', () => {
    const error = characterErrorOf(() => parseChatHaruhiJsonl('{"text":"p","":"system_prompt"}\n{"text":"t","":"@@@"}\n', 'x.jsonl'));
    expect(error.message).toBe('x.jsonl line 2: field """": the vector is not valid base64');
  });

  it('a lorebook file that is a bare list names its fields lorebook.N (was entries.entries.N)', () => {
    const book = write('lorebook.json', '[{"keys":["a"],"content":5}]');
    expect(characterErrorOf(() => readLorebookFile(book)).field).toBe('lorebook.0.content');
  });
});
