import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeBigEndianFloat32,
  encodeBigEndianFloat32,
  parseChatHaruhiJsonl,
  readChatHaruhiJsonl,
} from '../src/characters/chatharuhi/parse-jsonl.js';
import { characterErrorOf } from './helpers/character.js';

/** Encodes as Python's struct.pack('!f', ...) does, byte by byte, independently of the code under test. */
function pythonStyleBase64(values: number[]): string {
  const bytes: number[] = [];
  for (const value of values) {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value, false);
    for (let index = 0; index < 4; index++) bytes.push(view.getUint8(index));
  }
  return Buffer.from(bytes).toString('base64');
}

const lines = (...rows: unknown[]) => rows.map((row) => JSON.stringify(row)).join('\n') + '\n';


describe('parseChatHaruhiJsonl', () => {
  it('reads the system prompt, the config and big-endian float32 vectors', () => {
    const content = lines(
      { text: '你正在扮演林小雨。', luotuo_openai: 'system_prompt' },
      { text: 'Reserve Config Setting Here', luotuo_openai: 'config' },
      { text: '林小雨:「下回再来啊」', luotuo_openai: pythonStyleBase64([0.5, -1.25, 3]) },
      { text: 'Ortega:「Move!」', luotuo_openai: pythonStyleBase64([1, 2, -0.125]) },
    );
    const parsed = parseChatHaruhiJsonl(content, 'xiaoyu.jsonl');
    expect(parsed.systemPrompt).toBe('你正在扮演林小雨。');
    expect(parsed.config).toBe('Reserve Config Setting Here');
    expect(parsed.embeddingColumn).toBe('luotuo_openai');
    expect(parsed.chunks.map((chunk) => chunk.text)).toEqual(['林小雨:「下回再来啊」', 'Ortega:「Move!」']);
    expect([...parsed.chunks[0]!.vector!]).toEqual([0.5, -1.25, 3]);
    expect([...parsed.chunks[1]!.vector!]).toEqual([1, 2, -0.125]);
  });

  it('finds the column by its marker, whatever its name, and allows rows without a vector', () => {
    const content = lines(
      { bge_zh_s15: 'system_prompt', text: 'prompt' },
      { text: 'no vector yet', bge_zh_s15: '' },
      { text: 'also none' },
      { text: 'with one', bge_zh_s15: pythonStyleBase64([0.25]) },
    );
    const parsed = parseChatHaruhiJsonl(content, 'f.jsonl');
    expect(parsed.embeddingColumn).toBe('bge_zh_s15');
    expect(parsed.config).toBeNull();
    expect(parsed.chunks.map((chunk) => chunk.vector && [...chunk.vector])).toEqual([null, null, [0.25]]);
  });

  it('reads little-endian data as different numbers (the byte order matters)', () => {
    const littleEndian = Buffer.from(new Float32Array([1.5]).buffer).toString('base64');
    expect(decodeBigEndianFloat32(littleEndian, 'x', 'col')[0]).not.toBe(1.5);
    expect([...decodeBigEndianFloat32(encodeBigEndianFloat32([1.5, -2]), 'x', 'col')]).toEqual([1.5, -2]);
    expect(encodeBigEndianFloat32([0.5, -1.25])).toBe(pythonStyleBase64([0.5, -1.25]));
  });

  it('names the line for invalid JSON', () => {
    const content = lines({ text: 'p', c: 'system_prompt' }) + '{"text": "broken"\n';
    const error = characterErrorOf(() => parseChatHaruhiJsonl(content, 'bad.jsonl'));
    expect(error.file).toBe('bad.jsonl line 2');
    expect(error.message).toContain('invalid JSON');
  });

  it('names the line and column for bad base64', () => {
    const content = lines({ text: 'p', c: 'system_prompt' }, { text: 'chunk', c: 'not base64 at all!' });
    const error = characterErrorOf(() => parseChatHaruhiJsonl(content, 'bad.jsonl'));
    expect(error.message).toBe('bad.jsonl line 2: field "c": the vector is not valid base64');
  });

  it('names the line for a vector of the wrong length', () => {
    const threeBytes = Buffer.from([1, 2, 3]).toString('base64');
    const content = lines({ text: 'p', c: 'system_prompt' }, { text: 'chunk', c: threeBytes });
    expect(characterErrorOf(() => parseChatHaruhiJsonl(content, 'len.jsonl')).message).toContain('len.jsonl line 2');
    const mixed = lines(
      { text: 'p', c: 'system_prompt' },
      { text: 'a', c: pythonStyleBase64([1, 2]) },
      { text: 'b', c: pythonStyleBase64([1, 2, 3]) },
    );
    expect(characterErrorOf(() => parseChatHaruhiJsonl(mixed, 'dims.jsonl')).message).toContain('dims.jsonl line 3');
  });

  it('refuses a file without a system prompt row and rows that are not objects with text', () => {
    expect(characterErrorOf(() => parseChatHaruhiJsonl(lines({ text: 'a', c: 'config' }), 'none.jsonl')).message).toContain(
      'no system prompt row',
    );
    expect(characterErrorOf(() => parseChatHaruhiJsonl('[1]\n', 'arr.jsonl')).file).toBe('arr.jsonl line 1');
    expect(characterErrorOf(() => parseChatHaruhiJsonl('{"c":"system_prompt"}\n', 't.jsonl')).field).toBe('text');
  });

  it('reads a file from disk', () => {
    const directory = mkdtempSync(join(tmpdir(), 'omoide-jsonl-'));
    try {
      const path = join(directory, 'role.jsonl');
      writeFileSync(path, lines({ text: 'p', c: 'system_prompt' }, { text: 'x', c: pythonStyleBase64([2]) }));
      expect(readChatHaruhiJsonl(path).chunks[0]?.vector?.[0]).toBe(2);
      writeFileSync(path, Buffer.from([0xff, 0xfe, 0x00]));
      expect(() => readChatHaruhiJsonl(path)).toThrow(/role\.jsonl: not UTF-8/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
