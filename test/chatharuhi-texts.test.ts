import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CharacterError } from '../src/core/errors.js';
import { parseChatHaruhiFolder, parseScriptText } from '../src/characters/chatharuhi/parse-texts.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures', 'chatharuhi');

const temporary: string[] = [];
afterEach(() => {
  for (const directory of temporary.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('parseChatHaruhiFolder on a Chinese fixture', () => {
  const parsed = parseChatHaruhiFolder(join(fixtures, 'xiaoyu'));
  const chunk = (file: string) => {
    const found = parsed.chunks.find((item) => item.file === file);
    if (!found) throw new Error(`no chunk ${file}`);
    return found;
  };

  it('reads the system prompt and one chunk per non-empty text file, in natural order', () => {
    expect(parsed.systemPrompt.startsWith('你正在扮演林小雨')).toBe(true);
    expect(parsed.chunks.map((item) => item.file)).toEqual(['profile.txt', 'text_1.txt', 'text_2.txt', 'text_10.txt']);
  });

  it('keeps the original lines as the chunk text', () => {
    expect(chunk('text_1.txt').text).toContain('林小雨:「急什么，又要迟到了？」(把包子塞进他手里)');
    expect(chunk('text_10.txt').text).toBe('旁白: 傍晚下起了雨\n林小雨:「今天客人少，早点打烊吧」\n');
  });

  it('reads narration, both colons and stage directions before or after the quote', () => {
    expect(chunk('text_1.txt').lines).toEqual([
      { role: null, text: '清晨，茶馆刚开门，阿青背着书包跑了进来', kind: 'narration' },
      { role: '阿青', text: '小雨姐，给我一个包子！', kind: 'dialogue' },
      { role: '林小雨', text: '急什么，又要迟到了？', kind: 'dialogue', direction: '把包子塞进他手里' },
      { role: '阿青', text: '谢谢姐！', kind: 'dialogue', direction: '一溜烟跑了' },
      { role: '林小雨', text: '这孩子，天天这样', kind: 'dialogue', direction: '叹了口气' },
    ]);
  });

  it('reads nested quotes, an unclosed quote, an empty-role line and a file without a final newline', () => {
    expect(chunk('text_2.txt').lines).toEqual([
      { role: '林小雨', text: '你看清楚，招牌上不是写着「小雨茶馆」吗？', kind: 'dialogue' },
      { role: '老周', text: '我眼神不好嘛', kind: 'dialogue' },
      { role: null, text: '老周付了钱，慢悠悠地走了', kind: 'narration' },
      { role: null, text: '林小雨收拾桌子', kind: 'narration' },
      { role: '林小雨', text: '下回再来啊', kind: 'dialogue' },
    ]);
  });

  it('reads CRLF files', () => {
    expect(chunk('text_10.txt').lines).toEqual([
      { role: null, text: '傍晚下起了雨', kind: 'narration' },
      { role: '林小雨', text: '今天客人少，早点打烊吧', kind: 'dialogue' },
    ]);
  });

  it('reads a prose file as narration, even its "label：value" lines', () => {
    expect(chunk('profile.txt').lines).toEqual([
      { role: null, text: '林小雨，二十六岁，茶馆老板娘。', kind: 'narration' },
      { role: null, text: '爱好：听评弹、养猫。', kind: 'narration' },
      { role: null, text: '她最怕打雷，可从来不肯承认。', kind: 'narration' },
    ]);
  });
});

describe('parseChatHaruhiFolder on an English fixture', () => {
  const parsed = parseChatHaruhiFolder(join(fixtures, 'ortega'));

  it('reads :action lines, Narrator lines and a trailing direction', () => {
    expect(parsed.chunks[0]!.lines).toEqual([
      { role: 'Pim', text: 'Captain, the port engine is smoking again.', kind: 'dialogue' },
      { role: 'Ortega', text: 'Then stop staring at it and fetch the wrench,', kind: 'dialogue' },
      { role: null, text: 'Pim ran below deck', kind: 'narration' },
      { role: null, text: 'Ortega action', kind: 'narration' },
      { role: null, text: 'Ortega thinks "Forty years of flying and the engines still hate me."', kind: 'narration' },
      { role: 'Ortega', text: 'Well? Move!', kind: 'dialogue', direction: 'pointing at the hatch' },
    ]);
  });

  it('reads a spoken line without quotes', () => {
    expect(parsed.chunks[1]!.lines[0]).toEqual({
      role: 'Ortega',
      text: 'No cards tonight. I lost my boots last time.',
      kind: 'dialogue',
    });
  });
});

describe('parseScriptText edge cases', () => {
  it('drops empty quotes and keeps a line that has only a direction', () => {
    expect(parseScriptText('A:「」\nB:「」(nods)\n', 'x.txt').lines).toEqual([
      { role: 'B', text: '', kind: 'dialogue', direction: 'nods' },
    ]);
  });

  it('strips a byte order mark', () => {
    expect(parseScriptText('\uFEFF春日:「喂」', 'bom.txt').lines[0]?.role).toBe('春日');
  });
});

describe('parseChatHaruhiFolder errors', () => {
  function folder(files: Record<string, Buffer | string>): string {
    const directory = mkdtempSync(join(tmpdir(), 'omoide-haruhi-'));
    temporary.push(directory);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(directory, name)), { recursive: true });
      writeFileSync(join(directory, name), content);
    }
    return directory;
  }

  it('names a text file that is not UTF-8', () => {
    // "你好" in GBK, which is not valid UTF-8.
    const directory = folder({ 'system_prompt.txt': '你是春日', 'texts/gbk.txt': Buffer.from([0xc4, 0xe3, 0xba, 0xc3]) });
    expect(() => parseChatHaruhiFolder(directory)).toThrow(CharacterError);
    expect(() => parseChatHaruhiFolder(directory)).toThrow(/gbk\.txt: not UTF-8/);
  });

  it('names a missing system prompt or texts folder', () => {
    expect(() => parseChatHaruhiFolder(folder({ 'texts/a.txt': 'A:「x」' }))).toThrow(/system_prompt\.txt: missing/);
    expect(() => parseChatHaruhiFolder(folder({ 'system_prompt.txt': 'x' }))).toThrow(/texts: missing/);
  });
});

// The real ChatHaruhi data (CC BY-NC, never copied into this repo) sits beside the checkout on the dev machines.
const realData = resolve(here, '..', '..', 'shared', 'data', 'chatharuhi');

describe.skipIf(!existsSync(join(realData, 'haruhi')))('real ChatHaruhi folders', () => {
  for (const [name, speaker] of [
    ['haruhi', '春日'],
    ['Luna', 'Luna'],
  ] as const) {
    it(`imports ${name} as it is`, () => {
      const parsed = parseChatHaruhiFolder(join(realData, name));
      expect(parsed.systemPrompt.length).toBeGreaterThan(50);
      expect(parsed.chunks.length).toBeGreaterThan(40);
      const lines = parsed.chunks.flatMap((chunk) => chunk.lines);
      expect(lines.filter((line) => line.role === speaker).length).toBeGreaterThan(50);
      expect(lines.some((line) => line.kind === 'narration')).toBe(true);
      for (const line of lines) {
        // A quote that was not taken apart would leave its brackets at the edges.
        if (line.kind === 'dialogue') expect(line.text.startsWith('「') || line.text.endsWith('」')).toBe(false);
        expect(line.role === null || !/[「」]/.test(line.role)).toBe(true);
      }
    });
  }
});
