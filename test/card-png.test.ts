import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CharacterError } from '../src/core/errors.js';
import { toCardV2, toCardV3 } from '../src/characters/card/export-card.js';
import { parseCardJson } from '../src/characters/card/parse-card.js';
import {
  crc32,
  createBlankPng,
  readCardFromPng,
  readPngChunks,
  readPngTextChunks,
  writeCardToPng,
} from '../src/characters/card/png.js';
import { characterErrorOf } from './helpers/character.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'cards');
const cardFixture = (name: string) => parseCardJson(readFileSync(join(fixtures, name), 'utf8'), name);

/** Builds a PNG by hand (independently of png.ts's writer) with the given extra chunks before IEND. */
function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeBytes = Buffer.from(type, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeBytes, data));
  return Buffer.concat([length, typeBytes, data, crc]);
}
const text = (keyword: string, value: string) => chunk('tEXt', Buffer.from(`${keyword}\0${value}`, 'latin1'));
const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

function pngWith(...extra: Buffer[]): Buffer {
  const blank = createBlankPng();
  const iend = blank.length - 12;
  return Buffer.concat([blank.subarray(0, iend), ...extra, blank.subarray(iend)]);
}


describe('PNG structure', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('the blank PNG is a valid 1x1 image', () => {
    const chunks = readPngChunks(createBlankPng(), 'blank.png');
    expect(chunks.map((item) => item.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const header = chunks[0]!.data;
    expect([header.readUInt32BE(0), header.readUInt32BE(4), header[8], header[9]]).toEqual([1, 1, 8, 6]);
    expect([...inflateSync(chunks[1]!.data)]).toEqual([0, 0, 0, 0, 0]);
  });

  it('refuses a file that is not a PNG', () => {
    const error = characterErrorOf(() => readCardFromPng(Buffer.from('GIF89a not a png at all'), 'cat.gif'));
    expect(error.file).toBe('cat.gif');
    expect(error.message).toContain('not a PNG');
    expect(characterErrorOf(() => readCardFromPng(Buffer.alloc(0), 'empty.png')).message).toContain('not a PNG');
  });

  it('refuses a truncated PNG, wherever it is cut', () => {
    const whole = pngWith(text('chara', base64Json(toCardV2(cardFixture('v1-flat-en.json')))));
    for (const cut of [10, 20, 40, whole.length - 30, whole.length - 1]) {
      const error = characterErrorOf(() => readCardFromPng(whole.subarray(0, cut), 'cut.png'));
      expect(error.message).toMatch(/^cut\.png: PNG is truncated/);
    }
  });

  it('refuses a chunk whose CRC does not match', () => {
    const png = pngWith(text('chara', base64Json(toCardV2(cardFixture('v1-flat-en.json')))));
    const corrupt = Buffer.from(png);
    const textOffset = corrupt.indexOf('chara', 0, 'latin1');
    corrupt[textOffset + 10] = corrupt[textOffset + 10]! ^ 0x01;
    const error = characterErrorOf(() => readCardFromPng(corrupt, 'flipped.png'));
    expect(error.message).toContain('CRC mismatch in chunk tEXt');
  });

  it('reports a PNG without a card', () => {
    expect(characterErrorOf(() => readCardFromPng(createBlankPng(), 'plain.png')).message).toContain('no character card');
  });
});

describe('reading cards from PNG', () => {
  const v2 = toCardV2(cardFixture('v2-zh.json'));
  const v3 = toCardV3(cardFixture('v3-en.json'));

  it('reads a V2-only card from chara', () => {
    const card = readCardFromPng(pngWith(text('chara', base64Json(v2))), 'v2.png');
    expect(card.spec).toBe('chara_card_v2');
    expect(card.name).toBe('林小雨');
    expect(card.extensions.some_other_tool).toEqual({ nested: [1, 2, { deep: true }] });
  });

  it('reads a V3-only card from ccv3', () => {
    const card = readCardFromPng(pngWith(text('ccv3', base64Json(v3))), 'v3.png');
    expect(card.spec).toBe('chara_card_v3');
    expect(card.nickname).toBe('Cap');
  });

  it('prefers ccv3 when both are present, in either order', () => {
    for (const png of [
      pngWith(text('chara', base64Json(v2)), text('ccv3', base64Json(v3))),
      pngWith(text('ccv3', base64Json(v3)), text('chara', base64Json(v2))),
    ]) {
      expect(readCardFromPng(png, 'both.png').name).toBe('Captain Ortega');
    }
  });

  it('names the file and the chunk for bad base64', () => {
    const error = characterErrorOf(() => readCardFromPng(pngWith(text('chara', 'this is *not* base64!')), 'bad.png'));
    expect(error.file).toBe('bad.png (chunk chara)');
    expect(error.message).toContain('not valid base64');
  });

  it('names the file and the chunk for invalid JSON inside valid base64', () => {
    const png = pngWith(text('ccv3', Buffer.from('{"spec": "chara_card_v3", ').toString('base64')));
    const error = characterErrorOf(() => readCardFromPng(png, 'json.png'));
    expect(error.file).toBe('json.png (chunk ccv3)');
    expect(error.message).toContain('invalid JSON');
  });

  it('names the file, the chunk and the field for a card without a name', () => {
    const png = pngWith(text('chara', base64Json({ spec: 'chara_card_v2', spec_version: '2.0', data: { description: 'x' } })));
    const error = characterErrorOf(() => readCardFromPng(png, 'nameless.png'));
    expect(error.message).toContain('nameless.png (chunk chara): field "data.name"');
  });
});

describe('writing cards to PNG', () => {
  it('write → read round trip without an image keeps every field and unknown extensions', () => {
    const card = cardFixture('v2-zh.json');
    const png = writeCardToPng(null, card);
    const keywords = readPngTextChunks(png, 'out.png').map((item) => item.keyword);
    expect(keywords).toEqual(['chara', 'ccv3']);
    const back = readCardFromPng(png, 'out.png');
    expect(back.spec).toBe('chara_card_v3');
    expect({ ...back, spec: card.spec }).toEqual(card);
    // The chara chunk is the V2 form, for tools that read only that.
    const chara = readPngTextChunks(png, 'out.png').find((item) => item.keyword === 'chara')!;
    expect(JSON.parse(Buffer.from(chara.text, 'base64').toString('utf8'))).toEqual(toCardV2(card));
  });

  it('replaces existing card chunks and keeps the image and other chunks', () => {
    const old = toCardV2(cardFixture('v1-flat-en.json'));
    const source = pngWith(text('Chara', base64Json(old)), text('Comment', 'drawn by hand'), text('ccv3', base64Json(old)));
    const card = cardFixture('v3-en.json');
    const png = writeCardToPng(source, card);
    const chunks = readPngChunks(png, 'new.png');
    expect(chunks.map((item) => item.type)).toEqual(['IHDR', 'IDAT', 'tEXt', 'tEXt', 'tEXt', 'IEND']);
    expect(readPngTextChunks(png, 'new.png').map((item) => item.keyword)).toEqual(['Comment', 'chara', 'ccv3']);
    expect(readCardFromPng(png, 'new.png')).toEqual(card);
    const sourceIdat = readPngChunks(source, 'source.png').find((item) => item.type === 'IDAT')!;
    expect(chunks[1]!.data.equals(sourceIdat.data)).toBe(true);
  });

  it('refuses to write into a broken PNG', () => {
    expect(() => writeCardToPng(Buffer.from('nope'), cardFixture('v3-en.json'))).toThrow(CharacterError);
  });
});
