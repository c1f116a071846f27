/**
 * Fuzz: Tavern character cards — JSON (V1, V2, V3) and PNG (card chunks in tEXt, zTXt or iTXt, chunks cut short or
 * altered) — read directly and imported into a characters folder. Reading gives a card or a CharacterError; an
 * import that is refused leaves the characters folder exactly as it was, and one that succeeds leaves a character
 * that loads.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { toCardV2, toCardV3 } from '../src/characters/card/export-card.js';
import { parseCardJson } from '../src/characters/card/parse-card.js';
import { crc32, readCardFromPng, writeCardToPng } from '../src/characters/card/png.js';
import { importCharacter } from '../src/characters/import/import-character.js';
import { loadCharacter } from '../src/characters/load-characters.js';
import { CharacterError, InputError } from '../src/core/errors.js';
import { attempt, fuzz, jsonText, lorebook, mutated, mutatedText, nastyKey, nastyString, nastyValue, prose, snapshotFolder } from './helpers/fuzz.js';

const root = mkdtempSync(join(tmpdir(), 'omoide-fuzz-cards-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let caseNumber = 0;

const cardData = fc.record(
  {
    name: fc.oneof(prose, fc.constantFrom('Keeper', 'keeper', '   ', '凉宫春日')),
    description: prose,
    personality: prose,
    scenario: prose,
    first_mes: prose,
    mes_example: fc.oneof(prose, fc.constantFrom('<START>\n{{user}}: hi\n{{char}}: hello', '<START>\n<START>', '{{char}}:\n\n{{user}}：「」')),
    creator_notes: prose,
    system_prompt: prose,
    post_history_instructions: prose,
    alternate_greetings: fc.array(prose, { maxLength: 2 }),
    character_book: lorebook,
    tags: fc.array(prose, { maxLength: 2 }),
    creator: prose,
    character_version: fc.oneof(prose, fc.double()),
    extensions: fc.dictionary(nastyKey, nastyValue, { maxKeys: 3 }).map((extensions) => ({ ...extensions, omoide: { language: 'zh-CN', aliases: ['x'] } })),
    nickname: prose,
    group_only_greetings: fc.array(prose, { maxLength: 2 }),
    assets: fc.array(fc.record({ type: fc.constant('icon'), uri: fc.constant('ccdefault:'), name: prose, ext: fc.constant('png') }), { maxLength: 2 }),
    creator_notes_multilingual: fc.dictionary(nastyKey, prose, { maxKeys: 2 }),
    source: fc.array(prose, { maxLength: 2 }),
    creation_date: fc.integer(),
    modification_date: fc.double(),
  },
  { requiredKeys: ['name'] },
);

/** A card as found in the wild: V1 flat (with TavernAI's old names now and then), V2 or V3. */
const card = fc.oneof(
  cardData.map(({ name, description, personality, scenario, first_mes, mes_example }) => ({ name, description, personality, scenario, first_mes, mes_example })),
  cardData.map(({ name, description }) => ({ char_name: name, char_persona: description, char_greeting: 'hi', example_dialogue: '' })),
  cardData.map((data) => ({ spec: 'chara_card_v2', spec_version: '2.0', data })),
  cardData.map((data) => ({ spec: 'chara_card_v3', spec_version: '3.0', data })),
);

const cardJson = mutatedText(mutated(card).map(jsonText));

function checkCard(parsed: ReturnType<typeof parseCardJson>): void {
  expect(parsed.name.trim()).not.toBe('');
  // A card read in can always be written out again, as JSON and into a PNG.
  JSON.stringify(toCardV2(parsed));
  JSON.stringify(toCardV3(parsed));
  writeCardToPng(null, parsed);
}

// ---------------------------------------------------------------------------------------------------------------
// PNG, built here independently of png.ts.

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(data.length, 0);
  header.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(header.subarray(4, 8), data));
  return Buffer.concat([header, data, crc]);
}

const ihdr = (() => {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(1, 0);
  data.writeUInt32BE(1, 4);
  data[8] = 8;
  data[9] = 6;
  return chunk('IHDR', data);
})();
const idat = chunk('IDAT', deflateSync(Buffer.from([0, 0, 0, 0, 0])));
const iend = chunk('IEND', Buffer.alloc(0));

/** A card chunk as exporters write it: tEXt (the spec), or zTXt / iTXt (compressed or UTF-8), some with odd keywords. */
const cardChunk = fc
  .record({
    type: fc.oneof({ weight: 4, arbitrary: fc.constant('tEXt') }, { weight: 1, arbitrary: fc.constantFrom('zTXt', 'iTXt') }),
    keyword: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('chara', 'ccv3') }, { weight: 1, arbitrary: fc.constantFrom('Chara', 'CCV3', 'comment', '', 'chara\u00ff') }),
    payload: fc.oneof(
      { weight: 8, arbitrary: cardJson.map((json) => Buffer.from(json, 'utf8').toString('base64')) },
      { weight: 1, arbitrary: cardJson },
      { weight: 1, arbitrary: nastyString },
    ),
    compressed: fc.boolean(),
  })
  .map(({ type, keyword, payload, compressed }) => {
    const name = Buffer.from(keyword, 'latin1');
    if (type === 'tEXt') return chunk(type, Buffer.concat([name, Buffer.from([0]), Buffer.from(payload, 'latin1')]));
    if (type === 'zTXt') return chunk(type, Buffer.concat([name, Buffer.from([0, 0]), deflateSync(Buffer.from(payload, 'latin1'))]));
    const text = compressed ? deflateSync(Buffer.from(payload, 'utf8')) : Buffer.from(payload, 'utf8');
    return chunk(type, Buffer.concat([name, Buffer.from([0, compressed ? 1 : 0, 0, 0, 0]), text]));
  });

type ByteChange =
  | { readonly op: 'none' }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'flip'; readonly at: number; readonly value: number }
  | { readonly op: 'length'; readonly chunk: number; readonly value: number }
  | { readonly op: 'data'; readonly chunk: number; readonly at: number; readonly value: number };

const byteChange: fc.Arbitrary<ByteChange> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ op: 'none' as const }) },
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('length' as const), chunk: fc.nat(), value: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 12) }),
  // Changes a byte of a chunk's data and fixes its CRC, so the change reaches the code behind the CRC check.
  fc.record({ op: fc.constant('data' as const), chunk: fc.nat(), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function changePng(chunks: Buffer[], change: ByteChange): Buffer {
  const whole = Buffer.concat([signature, ...chunks]);
  switch (change.op) {
    case 'none':
      return whole;
    case 'truncate':
      return whole.subarray(0, change.at % whole.length);
    case 'flip': {
      const copy = Buffer.from(whole);
      copy[change.at % copy.length] = change.value;
      return copy;
    }
    case 'length': {
      const copy = chunks.map((item) => Buffer.from(item));
      copy[change.chunk % copy.length]!.writeUInt32BE(change.value, 0);
      return Buffer.concat([signature, ...copy]);
    }
    case 'data': {
      const index = change.chunk % chunks.length;
      const original = chunks[index]!;
      const data = Buffer.from(original.subarray(8, original.length - 4));
      if (data.length > 0) data[change.at % data.length] = change.value;
      const copy = [...chunks];
      copy[index] = chunk(original.toString('latin1', 4, 8), data);
      return Buffer.concat([signature, ...copy]);
    }
  }
}

const png = fc
  .record({ cards: fc.array(cardChunk, { maxLength: 3 }), change: byteChange, trailing: fc.boolean() })
  .map(({ cards, change, trailing }) => changePng([ihdr, idat, ...cards, iend, ...(trailing ? [cards[0] ?? idat] : [])], change));

describe('fuzz: card files', () => {
  it('parses card JSON or refuses it with a CharacterError', () => {
    fuzz('card JSON', cardJson, (json) => attempt(() => parseCardJson(json, 'card.json'), [CharacterError], checkCard), { numRuns: 300 });
  });

  it('reads the card in a PNG or refuses the PNG with a CharacterError', () => {
    fuzz('card PNG', png, (bytes) => attempt(() => readCardFromPng(bytes, 'card.png'), [CharacterError], checkCard), { numRuns: 300 });
  });
});

describe('fuzz: importing a card', () => {
  it('either adds a character that loads or leaves the characters folder as it was', () => {
    fuzz(
      'card import',
      fc.record({
        source: fc.oneof(
          { weight: 2, arbitrary: cardJson.map((json) => ({ name: 'card.json', bytes: Buffer.from(json, 'utf8') })) },
          { weight: 1, arbitrary: png.map((bytes) => ({ name: 'card.png', bytes })) },
        ),
        force: fc.boolean(),
        id: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('keeper', 'new-one', 'Bad Id', '_worlds', '') }),
      }),
      ({ source, force, id }) => {
        const directory = join(root, `import-${caseNumber++}`);
        const charactersDir = join(directory, 'characters');
        mkdirSync(join(charactersDir, 'keeper'), { recursive: true });
        writeFileSync(join(charactersDir, 'keeper', 'character.yaml'), 'name: Keeper\nlanguage: en-US\ndescription: Keeps the light.\n');
        const sourcePath = join(directory, source.name);
        writeFileSync(sourcePath, source.bytes);
        const before = snapshotFolder(charactersDir);
        const outcome = attempt(
          () => importCharacter(sourcePath, { charactersDir, force, ...(id !== null ? { id } : {}) }),
          [CharacterError, InputError],
          (result) => {
            expect(loadCharacter(result.directory).name).toBe(result.character.name);
            const after = snapshotFolder(charactersDir);
            // Only the new character's folder changed (or the one it replaced, with force).
            for (const path of Object.keys(before)) {
              if (!path.startsWith(`${result.id}/`)) expect(after[path], path).toBe(before[path]);
            }
            expect(Object.keys(after).filter((path) => path.startsWith('.'))).toEqual([]);
          },
        );
        if (outcome === 'refused') expect(snapshotFolder(charactersDir)).toEqual(before);
        rmSync(directory, { recursive: true, force: true });
        return outcome;
      },
      {
        numRuns: 250,
        // Example messages with a line of 16,000 spaces took 20 s to split before the speaker pattern was fixed.
        examples: [[{ source: { name: 'card.json', bytes: Buffer.from(JSON.stringify({ name: 'Spacey', mes_example: `{{user}}: hi\n${' '.repeat(16_000)}x` })) }, force: false, id: null }]],
      },
    );
  });
});
