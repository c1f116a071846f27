/**
 * Fuzz: ChatHaruhi characters — the packed .jsonl and the folder of system_prompt.txt + texts/*.txt — read directly
 * and imported. Reading gives a script or a CharacterError; an import that is refused leaves the characters folder as
 * it was, and one that succeeds leaves a character that loads.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeBigEndianFloat32, parseChatHaruhiJsonl } from '../src/characters/chatharuhi/parse-jsonl.js';
import { parseScriptText } from '../src/characters/chatharuhi/parse-texts.js';
import { importCharacter } from '../src/characters/import/import-character.js';
import { loadCharacter } from '../src/characters/load-characters.js';
import { CharacterError, InputError } from '../src/core/errors.js';
import { attempt, fileBytes, fuzz, jsonText, mutated, mutatedText, nastyKey, nastyString, nastyValue, prose, snapshotFolder } from './helpers/fuzz.js';

const root = mkdtempSync(join(tmpdir(), 'omoide-fuzz-haruhi-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let caseNumber = 0;

const speaker = fc.constantFrom('凉宫春日', '春日', '阿虚', '旁白', 'Ortega', '', ' ', '(笑)');
const longRun = fc.record({ unit: fc.constantFrom(' ', '\t', '「', '(', ':'), length: fc.integer({ min: 1_000, max: 50_000 }) }).map(({ unit, length }) => unit.repeat(length));

/** One line of an excerpt: `Name:「line」` with its variations, narration, or something stranger. */
const scriptLine = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(speaker, fc.constantFrom(':', '：'), prose).map(([name, colon, text]) => `${name}${colon}「${text}」`) },
  { weight: 2, arbitrary: fc.tuple(speaker, prose, prose).map(([name, direction, text]) => `${name}:（${direction}）「${text}」`) },
  { weight: 2, arbitrary: fc.tuple(speaker, prose, prose).map(([name, text, direction]) => `${name}: ${text} (${direction})`) },
  { weight: 1, arbitrary: fc.tuple(speaker, longRun, prose).map(([name, run, text]) => `${name}: a${run}${text}`) },
  { weight: 2, arbitrary: prose },
  { weight: 1, arbitrary: nastyString },
);

const excerpt = fc.array(scriptLine, { maxLength: 6 }).map((lines) => lines.join('\n'));
const systemPrompt = fc.oneof(
  { weight: 4, arbitrary: prose.map((text) => `你正在扮演凉宫春日，${text}`) },
  { weight: 2, arbitrary: prose.map((text) => `I want you to act like Captain Ortega. ${text}`) },
  { weight: 1, arbitrary: nastyString },
);

const vector = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.float({ noNaN: true }), { minLength: 3, maxLength: 3 }).map((values) => encodeBigEndianFloat32(values)) },
  { weight: 1, arbitrary: fc.array(fc.float(), { maxLength: 5 }).map((values) => encodeBigEndianFloat32(values)) },
  { weight: 1, arbitrary: fc.constantFrom('', null, '@@@', 'AAA', 'AAAAAA==', 42) },
);

/** The rows of a ChatHaruhi 2 jsonl: system prompt, config, then excerpts with their vectors. */
const jsonlRows = fc
  .record({
    column: fc.constantFrom('luotuo_openai', 'bge_zh_s15', '__proto__', 'text', ''),
    prompt: systemPrompt,
    config: fc.option(prose),
    chunks: fc.array(fc.record({ text: excerpt, vector, extra: fc.dictionary(nastyKey, nastyValue, { maxKeys: 1 }) }), { maxLength: 5 }),
  })
  .map(({ column, prompt, config, chunks }) => [
    { text: prompt, [column]: 'system_prompt' },
    ...(config === null ? [] : [{ text: config, [column]: 'config' }]),
    ...chunks.map(({ text, vector: value, extra }) => ({ ...extra, text, [column]: value })),
  ]);

const jsonlText = mutatedText(
  mutated(jsonlRows, 2).map((rows) => (Array.isArray(rows) ? rows.map((row) => jsonText(row)).join('\n') : jsonText(rows))),
);

describe('fuzz: ChatHaruhi files', () => {
  it('parses a .jsonl or refuses it with a CharacterError', () => {
    fuzz(
      'ChatHaruhi jsonl',
      jsonlText,
      (text) =>
        attempt(
          () => parseChatHaruhiJsonl(text, 'role.jsonl'),
          [CharacterError],
          (parsed) => {
            expect(typeof parsed.systemPrompt).toBe('string');
            for (const chunk of parsed.chunks) expect(typeof chunk.text).toBe('string');
          },
        ),
      { numRuns: 300 },
    );
  });

  it('reads any excerpt text into lines, quickly', () => {
    fuzz(
      'ChatHaruhi excerpt',
      fc.oneof(excerpt, nastyString),
      (text) => {
        const chunk = parseScriptText(text, 'text_0.txt');
        for (const line of chunk.lines) expect(line.kind === 'dialogue' ? line.role !== null : line.role === null).toBe(true);
        return 'accepted';
      },
      // A line of 60,000 spaces between a speaker and the text took 8 s before the trailing-direction pattern was fixed.
      { numRuns: 200, examples: [['阿虚:「你好」\n春日: a' + ' '.repeat(60_000) + 'b']] },
    );
  });
});

describe('fuzz: importing a ChatHaruhi character', () => {
  it('either adds a character that loads or leaves the characters folder as it was', () => {
    fuzz(
      'ChatHaruhi import',
      fc.oneof(
        fileBytes(jsonlText).map((bytes) => ({ kind: 'jsonl' as const, bytes })),
        fc
          .record({
            prompt: fc.option(fileBytes(systemPrompt)),
            texts: fc.option(fc.array(fc.record({ name: fc.constantFrom('text_1.txt', 'text_2.txt', 'text_10.txt', 'a.TXT', '.hidden.txt', 'notes.md'), bytes: fileBytes(excerpt) }), { maxLength: 4 })),
          })
          .map((folder) => ({ kind: 'folder' as const, ...folder })),
      ),
      (source) => {
        const directory = join(root, `import-${caseNumber++}`);
        const charactersDir = join(directory, 'characters');
        mkdirSync(join(charactersDir, 'keeper'), { recursive: true });
        writeFileSync(join(charactersDir, 'keeper', 'character.yaml'), 'name: Keeper\nlanguage: en-US\ndescription: Keeps the light.\n');
        let sourcePath: string;
        if (source.kind === 'jsonl') {
          sourcePath = join(directory, 'haruhi.jsonl');
          writeFileSync(sourcePath, source.bytes);
        } else {
          sourcePath = join(directory, 'haruhi');
          mkdirSync(sourcePath);
          if (source.prompt) writeFileSync(join(sourcePath, 'system_prompt.txt'), source.prompt);
          if (source.texts) {
            mkdirSync(join(sourcePath, 'texts'));
            for (const text of source.texts) writeFileSync(join(sourcePath, 'texts', text.name), text.bytes);
          }
        }
        const before = snapshotFolder(charactersDir);
        const outcome = attempt(
          () => importCharacter(sourcePath, { charactersDir }),
          [CharacterError, InputError],
          (result) => {
            expect(loadCharacter(result.directory).id).toBe(result.id);
            const after = snapshotFolder(charactersDir);
            for (const path of Object.keys(before)) expect(after[path], path).toBe(before[path]);
            expect(Object.keys(after).every((path) => path.startsWith(`${result.id}/`) || before[path] !== undefined)).toBe(true);
          },
        );
        if (outcome === 'refused') expect(snapshotFolder(charactersDir)).toEqual(before);
        rmSync(directory, { recursive: true, force: true });
        return outcome;
      },
      { numRuns: 200 },
    );
  });
});
