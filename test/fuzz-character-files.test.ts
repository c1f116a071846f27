/**
 * Fuzz: the hand-edited files of a characters folder — character.yaml, lorebook files, world files — and importing
 * such a folder. Whatever the bytes, loading either gives a usable character (one that can be prompted with its
 * lorebook and exported) or a CharacterError naming the file; it never throws anything else and never takes long.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { toCardV3 } from '../src/characters/card/export-card.js';
import { characterToExportCard } from '../src/characters/export/export-character.js';
import { importCharacter } from '../src/characters/import/import-character.js';
import { loadCharacter, loadCharacters } from '../src/characters/load-characters.js';
import { selectLorebookEntries, type Lorebook } from '../src/characters/lorebook.js';
import { readLorebookFile } from '../src/characters/lorebook-file.js';
import { parseWorldYaml } from '../src/characters/world.js';
import { CharacterError, InputError } from '../src/core/errors.js';
import {
  attempt,
  expectClearRefusal,
  fileBytes,
  fuzz,
  jsonText,
  lorebook,
  lorebookEntry,
  mutated,
  mutatedText,
  nastyKey,
  nastyValue,
  prose,
  snapshotFolder,
  words,
  worldInfo,
  yamlText,
} from './helpers/fuzz.js';

const root = mkdtempSync(join(tmpdir(), 'omoide-fuzz-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let caseNumber = 0;

const dialogueTurn = fc.oneof(fc.record({ user: prose }), fc.record({ char: prose }));

const characterFile = fc.record(
  {
    name: prose,
    aliases: fc.array(prose, { maxLength: 2 }),
    language: fc.constantFrom('zh-CN', 'en-US'),
    description: prose,
    personality: prose,
    scenario: prose,
    world: fc.constantFrom('gullhaven', 'gullhaven', 'nowhere'),
    greeting: prose,
    alternate_greetings: fc.array(prose, { maxLength: 2 }),
    example_dialogues: fc.array(fc.array(dialogueTurn, { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
    system_prompt: prose,
    post_history_instructions: prose,
    tags: fc.array(words, { maxLength: 3 }),
    creator: prose,
    character_version: fc.oneof(prose, fc.double({ noNaN: true })),
    model: fc.record(
      {
        temperature: fc.double({ min: 0, max: 2, noNaN: true }),
        top_p: fc.double({ min: 0.01, max: 1, noNaN: true }),
        max_reply_tokens: fc.integer({ min: 1, max: 500 }),
        context_window: fc.integer({ min: 512, max: 200_000 }),
      },
      { requiredKeys: [] },
    ),
    script: fc.record({ budget_tokens: fc.integer({ min: 1, max: 5000 }), min_chunks: fc.integer({ min: 0, max: 10 }) }, { requiredKeys: [] }),
    extensions: fc.dictionary(nastyKey, nastyValue, { maxKeys: 3 }),
  },
  { requiredKeys: ['name', 'language', 'description'] },
);

/** YAML that only a hand (or an attacker) writes: aliases (self-referencing, exponential), tags, tabs, merge keys. */
const yamlOddities = fc.constantFrom(
  'odd:\n  loop: &x [*x]\n',
  'odd:\n  loop: &x {again: *x}\n',
  'odd:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n',
  'odd: *nowhere\n',
  'odd: !!binary aGVsbG8=\n',
  'odd: {x: !!js/regexp /a/}\n',
  'name: again\n',
  '\todd: tab\n',
  '<<: {name: merged}\n',
  'greeting: {{user}}\n',
  'odd: {__proto__: {polluted: true}}\n',
  '? [a, b]\n: c\n',
  '%YAML 1.2\n---\n',
  '--- |\n  text\n',
);

const characterYaml = fc.oneof(
  { weight: 5, arbitrary: mutatedText(mutated(characterFile).map(yamlText)) },
  { weight: 1, arbitrary: fc.tuple(characterFile.map(yamlText), yamlOddities).map(([text, odd]) => text + odd) },
);

const worldFile = fc.record(
  {
    name: prose,
    setting: prose,
    places: fc.array(fc.record({ name: prose, description: prose }), { maxLength: 2 }),
    people: fc.array(fc.record({ name: prose, description: prose }), { maxLength: 2 }),
    lorebook: fc.oneof(lorebook, fc.array(lorebookEntry, { maxLength: 3 }), worldInfo),
    extensions: fc.dictionary(nastyKey, nastyValue, { maxKeys: 2 }),
  },
  { requiredKeys: ['name', 'setting'] },
);

/** Every shape readLorebookFile accepts: a card's book, a bare list of entries, a world-info export, a whole card. */
const lorebookValue = fc.oneof(
  lorebook,
  fc.array(lorebookEntry, { maxLength: 4 }),
  worldInfo,
  lorebook.map((book) => ({ spec: 'chara_card_v2', data: { name: 'Card', character_book: book } })),
);

const messages = fc.array(fc.oneof(prose, fc.constantFrom('a'.repeat(20_000) + '!', 'dragon 凉宫 happy', 'xy Q.E')), { minLength: 1, maxLength: 3 });

/** A lorebook that loaded must be usable: selecting entries for any message works and is quick. */
function checkBook(book: Lorebook | null, recent: readonly string[]): void {
  if (book === null) return;
  for (const entry of book.entries) {
    expect(Array.isArray(entry.keys) && entry.keys.every((key) => typeof key === 'string')).toBe(true);
    expect(typeof entry.content).toBe('string');
  }
  const chosen = selectLorebookEntries(book, recent, (text) => text.length, 10_000);
  expect(chosen.every((entry) => book.entries.includes(entry))).toBe(true);
}

describe('fuzz: a characters folder', () => {
  it('loads every character that is valid and reports the others as CharacterErrors, never throwing', () => {
    fuzz(
      'characters folder (character.yaml + lorebook + world)',
      fc.record({
        character: fileBytes(characterYaml),
        lorebook: fc.option(fc.record({ name: fc.constantFrom('lorebook.json', 'lorebook.yaml'), bytes: fileBytes(mutatedText(mutated(lorebookValue).map(jsonText))) })),
        world: fc.option(fileBytes(mutatedText(mutated(worldFile).map(yamlText)))),
        recent: messages,
      }),
      (input) => {
        const directory = join(root, `folder-${caseNumber++}`);
        mkdirSync(join(directory, 'wren'), { recursive: true });
        writeFileSync(join(directory, 'wren', 'character.yaml'), input.character);
        if (input.lorebook) writeFileSync(join(directory, 'wren', input.lorebook.name), input.lorebook.bytes);
        if (input.world) {
          mkdirSync(join(directory, '_worlds'));
          writeFileSync(join(directory, '_worlds', 'gullhaven.yaml'), input.world);
        }
        const { characters, worlds, errors } = loadCharacters(directory);
        for (const error of errors) expectClearRefusal(error, [CharacterError]);
        for (const world of worlds.values()) checkBook(world.lorebook, input.recent);
        const character = characters.get('wren');
        if (!character) return 'refused';
        expect(character.name.trim()).not.toBe('');
        expect(['zh-CN', 'en-US']).toContain(character.language);
        checkBook(character.lorebook, input.recent);
        // A character that loads can be exported as a card.
        JSON.stringify(toCardV3(characterToExportCard(character)));
        rmSync(directory, { recursive: true, force: true });
        return 'accepted';
      },
      { numRuns: 80 },
    );
  });

  it('imports an omoide character folder, or refuses it and leaves the characters folder as it was', () => {
    fuzz(
      'omoide folder import',
      fc.record({
        name: fc.constantFrom('wren', 'wren', 'keeper', 'Bad Name'),
        character: fileBytes(characterYaml),
        lorebook: fc.option(fileBytes(mutatedText(mutated(lorebookValue).map(jsonText)))),
        script: fc.option(fc.array(fileBytes(prose), { maxLength: 2 })),
      }),
      (input) => {
        const directory = join(root, `import-${caseNumber++}`);
        const charactersDir = join(directory, 'characters');
        mkdirSync(join(charactersDir, 'keeper'), { recursive: true });
        writeFileSync(join(charactersDir, 'keeper', 'character.yaml'), 'name: Keeper\nlanguage: en-US\ndescription: Keeps the light.\n');
        const folder = join(directory, 'source', input.name);
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, 'character.yaml'), input.character);
        if (input.lorebook) writeFileSync(join(folder, 'lorebook.json'), input.lorebook);
        if (input.script) {
          mkdirSync(join(folder, 'script', 'texts'), { recursive: true });
          input.script.forEach((bytes, index) => writeFileSync(join(folder, 'script', 'texts', `text_${index}.txt`), bytes));
        }
        const before = snapshotFolder(charactersDir);
        const outcome = attempt(
          () => importCharacter(folder, { charactersDir }),
          [CharacterError, InputError],
          (result) => {
            expect(loadCharacter(result.directory).id).toBe(result.id);
            const after = snapshotFolder(charactersDir);
            for (const path of Object.keys(before)) expect(after[path], path).toBe(before[path]);
          },
        );
        if (outcome === 'refused') expect(snapshotFolder(charactersDir)).toEqual(before);
        rmSync(directory, { recursive: true, force: true });
        return outcome;
      },
      { numRuns: 80 },
    );
  });

  it('reads a world file or refuses it with a CharacterError', () => {
    fuzz(
      'world file',
      fc.oneof(
        { weight: 5, arbitrary: mutatedText(mutated(worldFile).map(yamlText)) },
        { weight: 1, arbitrary: fc.tuple(worldFile.map(yamlText), yamlOddities).map(([text, odd]) => text + odd) },
      ),
      (text) =>
        attempt(
          () => parseWorldYaml(text, 'w', 'w.yaml'),
          [CharacterError],
          (world) => {
            expect(world.name.trim()).not.toBe('');
            checkBook(world.lorebook, ['dragon', 'Haruhi']);
            JSON.stringify(world);
          },
        ),
      { numRuns: 120 },
    );
  });

  it('reads a lorebook file (.json or .yaml, any of its shapes) or refuses it with a CharacterError', () => {
    fuzz(
      'lorebook file',
      fc.record({
        yaml: fc.boolean(),
        value: mutated(lorebookValue),
        recent: messages,
      }).chain(({ yaml, value, recent }) =>
        fileBytes(mutatedText(fc.constant(yaml ? yamlText(value) : jsonText(value)))).map((bytes) => ({ yaml, bytes, recent })),
      ),
      ({ yaml, bytes, recent }) => {
        const path = join(root, `lorebook-${caseNumber++}.${yaml ? 'yaml' : 'json'}`);
        writeFileSync(path, bytes);
        return attempt(
          () => readLorebookFile(path),
          [CharacterError],
          (book) => {
            checkBook(book, recent);
            // An imported book is written back out as lorebook.json.
            JSON.stringify(book);
          },
        );
      },
      { numRuns: 150 },
    );
  });
});
