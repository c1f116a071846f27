/**
 * Character cards inside PNG images: the card JSON, base64-encoded, in a tEXt chunk named `chara` (V2) or `ccv3`
 * (V3). The PNG is walked chunk by chunk with lengths and CRCs checked, so a truncated or altered file is reported
 * as such rather than read as garbage.
 */
import { deflateSync } from 'node:zlib';
import { CharacterError } from '../../core/errors.js';
import { toCardV2, toCardV3 } from './export-card.js';
import type { CardData } from './card-types.js';
import { parseCardJson } from './parse-card.js';

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngChunk {
  type: string;
  data: Buffer;
  /** Byte offset of the chunk's length field in the file, for error messages. */
  offset: number;
}

export interface PngTextChunk {
  keyword: string;
  text: string;
}

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG uses it (ISO 3309), over the chunk type and data. */
export function crc32(...parts: Uint8Array[]): number {
  let crc = 0xffffffff;
  for (const part of parts) {
    for (const byte of part) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** All chunks up to and including IEND; throws a CharacterError naming `file` for anything malformed. */
export function readPngChunks(buffer: Uint8Array, file: string): PngChunk[] {
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (bytes.length < signature.length || !bytes.subarray(0, signature.length).equals(signature)) {
    throw new CharacterError(file, null, 'not a PNG file (the PNG signature is missing)');
  }
  const chunks: PngChunk[] = [];
  let offset = signature.length;
  while (offset < bytes.length) {
    if (offset + 8 > bytes.length) {
      throw new CharacterError(file, null, `PNG is truncated: chunk header at byte ${offset} is incomplete`);
    }
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) {
      throw new CharacterError(file, null, `PNG is corrupt: invalid chunk type at byte ${offset}`);
    }
    const end = offset + 12 + length;
    if (length > 0x7fffffff || end > bytes.length) {
      throw new CharacterError(file, null, `PNG is truncated: chunk ${type} at byte ${offset} needs ${length} bytes of data`);
    }
    const typeBytes = bytes.subarray(offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    const storedCrc = bytes.readUInt32BE(offset + 8 + length);
    if (crc32(typeBytes, data) !== storedCrc) {
      throw new CharacterError(file, null, `PNG is corrupt: CRC mismatch in chunk ${type} at byte ${offset}`);
    }
    chunks.push({ type, data, offset });
    offset = end;
    if (type === 'IEND') return chunks;
  }
  throw new CharacterError(file, null, 'PNG is truncated: no IEND chunk');
}

/** Splits a tEXt chunk into keyword and text (both Latin-1 per the PNG spec). */
export function decodeTextChunk(chunk: PngChunk, file: string): PngTextChunk {
  const separator = chunk.data.indexOf(0);
  if (separator < 1) {
    throw new CharacterError(file, null, `PNG tEXt chunk at byte ${chunk.offset} has no keyword`);
  }
  return {
    keyword: chunk.data.toString('latin1', 0, separator),
    text: chunk.data.toString('latin1', separator + 1),
  };
}

export function readPngTextChunks(buffer: Uint8Array, file: string): PngTextChunk[] {
  return readPngChunks(buffer, file)
    .filter((chunk) => chunk.type === 'tEXt')
    .map((chunk) => decodeTextChunk(chunk, file));
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes the base64 JSON of a card chunk; errors name the file and the chunk. */
function decodeCardChunk(text: string, file: string, keyword: string): CardData {
  const where = `${file} (chunk ${keyword})`;
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !base64Pattern.test(compact) || compact.length % 4 === 1) {
    throw new CharacterError(where, null, 'the card data is not valid base64');
  }
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64'));
  } catch (error) {
    throw new CharacterError(where, null, 'the card data is not UTF-8 text', { cause: error });
  }
  return parseCardJson(json, where);
}

/**
 * Reads the card embedded in a PNG. `ccv3` (V3) wins over `chara` (V2) when both are present, as in SillyTavern;
 * keywords are compared case-insensitively because some exporters write `Chara`.
 */
export function readCardFromPng(buffer: Uint8Array, file: string): CardData {
  const texts = readPngTextChunks(buffer, file);
  const find = (keyword: string): PngTextChunk | undefined =>
    texts.find((chunk) => chunk.keyword.toLowerCase() === keyword);
  const v3 = find('ccv3');
  if (v3) return decodeCardChunk(v3.text, file, v3.keyword);
  const v2 = find('chara');
  if (v2) return decodeCardChunk(v2.text, file, v2.keyword);
  throw new CharacterError(file, null, 'PNG has no character card (no "chara" or "ccv3" tEXt chunk)');
}

function encodeChunk(type: string, data: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(data.length, 0);
  header.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(header.subarray(4, 8), data), 0);
  return Buffer.concat([header, data, crc]);
}

function textChunk(keyword: string, text: string): Buffer {
  return encodeChunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]));
}

/** A valid 1x1 transparent RGBA PNG, for a card that comes without an image. */
export function createBlankPng(): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0); // width
  header.writeUInt32BE(1, 4); // height
  header[8] = 8; // bit depth
  header[9] = 6; // colour type RGBA
  // compression, filter and interlace methods stay 0
  const scanline = Buffer.from([0, 0, 0, 0, 0]); // filter byte "none", then one transparent pixel
  return Buffer.concat([
    signature,
    encodeChunk('IHDR', header),
    encodeChunk('IDAT', deflateSync(scanline)),
    encodeChunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Embeds `card` in a PNG: `chara` as V2 (read by older tools) and `ccv3` as V3, both just before IEND. Card chunks
 * already in the image are replaced; every other chunk is copied unchanged. With no image, a 1x1 PNG is made.
 */
export function writeCardToPng(png: Uint8Array | null, card: CardData, file = 'card.png'): Buffer {
  const source = png ?? createBlankPng();
  const chunks = readPngChunks(source, file);
  const kept = chunks.filter((chunk) => {
    if (chunk.type !== 'tEXt') return true;
    const keyword = decodeTextChunk(chunk, file).keyword.toLowerCase();
    return keyword !== 'chara' && keyword !== 'ccv3';
  });
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
  const parts: Buffer[] = [signature];
  for (const chunk of kept) {
    if (chunk.type === 'IEND') {
      parts.push(textChunk('chara', encode(toCardV2(card))), textChunk('ccv3', encode(toCardV3(card))));
    }
    parts.push(encodeChunk(chunk.type, chunk.data));
  }
  return Buffer.concat(parts);
}
