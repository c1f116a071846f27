import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cardToCharacterFields, characterToCard, detectLanguage } from '../src/characters/card/card-mapping.js';
import { toCardV2, toCardV3 } from '../src/characters/card/export-card.js';
import { joinExampleMessages, parseCardJson, splitExampleMessages } from '../src/characters/card/parse-card.js';
import { characterErrorOf } from './helpers/character.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'cards');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');


describe('parseCardJson', () => {
  it('reads a V1 flat card', () => {
    const card = parseCardJson(fixture('v1-flat-en.json'), 'v1-flat-en.json');
    expect(card.spec).toBe('chara_card_v1');
    expect(card.name).toBe('Mira');
    expect(card.firstMessage).toContain('towel');
    expect(card.alternateGreetings).toEqual([]);
    expect(card.characterBook).toBeNull();
    expect(card.extensions).toEqual({});
  });

  it('reads the legacy TavernAI field names of V1 cards', () => {
    const card = parseCardJson(
      JSON.stringify({ char_name: 'Old', char_persona: 'An old card.', char_greeting: 'Hi.', example_dialogue: '' }),
      'old.json',
    );
    expect(card.name).toBe('Old');
    expect(card.description).toBe('An old card.');
    expect(card.firstMessage).toBe('Hi.');
  });

  it('reads a V2 card with a lorebook and keeps unknown extensions intact', () => {
    const card = parseCardJson(fixture('v2-zh.json'), 'v2-zh.json');
    expect(card.spec).toBe('chara_card_v2');
    expect(card.name).toBe('林小雨');
    expect(card.alternateGreetings).toEqual(['今天下雨，客人少，陪我聊聊？']);
    expect(card.extensions.some_other_tool).toEqual({ nested: [1, 2, { deep: true }] });
    expect(card.extensions.depth_prompt).toEqual({ prompt: '记得微笑。', depth: 4, role: 'system' });
    expect(card.characterBook?.scan_depth).toBe(3);
    expect(card.characterBook?.entries[0]?.keys).toEqual(['竹林']);
    expect(card.characterBook?.entries[0]?.extensions).toEqual({ depth: 4 });
  });

  it('reads a V3 card with its V3-only fields', () => {
    const card = parseCardJson(fixture('v3-en.json'), 'v3-en.json');
    expect(card.spec).toBe('chara_card_v3');
    expect(card.nickname).toBe('Cap');
    expect(card.groupOnlyGreetings).toEqual(['Everyone, to your stations.']);
    expect(card.assets).toEqual([{ type: 'icon', uri: 'ccdefault:', name: 'main', ext: 'png' }]);
    expect(card.creationDate).toBe(1700000000);
    expect(card.source).toEqual(['https://example.invalid/ortega']);
  });

  it('fills missing and null fields with empty values', () => {
    const card = parseCardJson(
      JSON.stringify({ spec: 'chara_card_v2', spec_version: '2.0', data: { name: 'Sparse', creator_notes: null, tags: null } }),
      'sparse.json',
    );
    expect(card.creatorNotes).toBe('');
    expect(card.tags).toEqual([]);
    expect(card.exampleMessages).toBe('');
  });

  it('names the file and the problem for invalid JSON', () => {
    const error = characterErrorOf(() => parseCardJson(fixture('invalid.json'), 'invalid.json'));
    expect(error.file).toBe('invalid.json');
    expect(error.message).toMatch(/^invalid\.json: invalid JSON/);
  });

  it('names the file and the field when the name is missing', () => {
    const error = characterErrorOf(() => parseCardJson(fixture('missing-name.json'), 'missing-name.json'));
    expect(error.file).toBe('missing-name.json');
    expect(error.field).toBe('data.name');
    expect(error.message).toContain('missing-name.json: field "data.name"');
  });

  it('names the exact element of a field with the wrong type', () => {
    const error = characterErrorOf(() => parseCardJson(fixture('wrong-type.json'), 'wrong-type.json'));
    expect(error.field).toBe('data.alternate_greetings.1');
  });

  it('refuses an empty name, an unknown spec and a non-object', () => {
    expect(characterErrorOf(() => parseCardJson('{"name":"  "}', 'blank.json')).field).toBe('name');
    expect(characterErrorOf(() => parseCardJson('{"spec":"chara_card_v9","data":{}}', 'v9.json')).field).toBe('spec');
    expect(characterErrorOf(() => parseCardJson('[1,2]', 'array.json')).message).toContain('array.json');
    expect(characterErrorOf(() => parseCardJson('{"spec":"chara_card_v2","spec_version":"3.0","data":{"name":"x"}}', 'v.json')).field).toBe(
      'spec_version',
    );
  });

  it('reports a bad lorebook entry with its path', () => {
    const text = JSON.stringify({
      spec: 'chara_card_v2',
      spec_version: '2.0',
      data: { name: 'B', character_book: { entries: [{ keys: 'not-a-list', content: 'x' }] } },
    });
    expect(characterErrorOf(() => parseCardJson(text, 'book.json')).field).toBe('data.character_book.entries.0.keys');
  });
});

describe('round trips', () => {
  it('V2 JSON → card → V2 JSON is unchanged, unknown extensions included', () => {
    const original = JSON.parse(fixture('v2-zh.json'));
    const card = parseCardJson(fixture('v2-zh.json'), 'v2-zh.json');
    expect(toCardV2(card)).toEqual(original);
  });

  it('V3 JSON → card → V3 JSON is unchanged', () => {
    const original = JSON.parse(fixture('v3-en.json'));
    expect(toCardV3(parseCardJson(fixture('v3-en.json'), 'v3-en.json'))).toEqual(original);
  });

  it('a V2 card written as V3 reads back with the same content', () => {
    const card = parseCardJson(fixture('v2-zh.json'), 'v2-zh.json');
    const again = parseCardJson(JSON.stringify(toCardV3(card)), 'again.json');
    expect({ ...again, spec: 'chara_card_v2' }).toEqual(card);
  });
});

describe('splitExampleMessages', () => {
  it('splits at <START> and at {{user}} / {{char}} / name lines, joining continuation lines', () => {
    const card = parseCardJson(fixture('v1-flat-en.json'), 'v1.json');
    expect(splitExampleMessages(card.exampleMessages, { char: 'Mira' })).toEqual([
      [
        { speaker: 'user', text: 'Do you ever get lonely out here?' },
        { speaker: 'char', text: 'The gulls are poor conversationalists.\nBut they never interrupt.' },
      ],
      [
        { speaker: 'user', text: 'What is that light?' },
        { speaker: 'char', text: 'A ship, maybe. Or nothing.' },
      ],
    ]);
  });

  it('accepts the full-width colon and Chinese names', () => {
    const card = parseCardJson(fixture('v2-zh.json'), 'v2.json');
    expect(splitExampleMessages(card.exampleMessages, { char: '林小雨' })).toEqual([
      [
        { speaker: 'user', text: '这里有什么好玩的？' },
        { speaker: 'char', text: '「好玩的？后山的竹林，晚上还有萤火虫哩。」' },
      ],
      [
        { speaker: 'user', text: '你认识镇长吗？' },
        { speaker: 'char', text: '认识呀，他天天来喝茶。' },
      ],
    ]);
  });

  it('accepts the older <USER>/<BOT> spellings and the user name, skips empty blocks and stray lines', () => {
    const text = '<start>\r\nstray line\r\n<USER>: hi\r\n<BOT>: hello\r\n<START>\n\n<START>\nAlex: yo\n{{ char }}: hey';
    expect(splitExampleMessages(text, { user: 'Alex' })).toEqual([
      [
        { speaker: 'user', text: 'hi' },
        { speaker: 'char', text: 'hello' },
      ],
      [
        { speaker: 'user', text: 'yo' },
        { speaker: 'char', text: 'hey' },
      ],
    ]);
    expect(splitExampleMessages('')).toEqual([]);
  });

  it('joinExampleMessages writes what splitExampleMessages reads', () => {
    const dialogues = [
      [
        { speaker: 'user' as const, text: 'a' },
        { speaker: 'char' as const, text: 'b\nc' },
      ],
      [{ speaker: 'char' as const, text: '你好' }],
    ];
    expect(splitExampleMessages(joinExampleMessages(dialogues))).toEqual(dialogues);
  });
});

describe('card ↔ character fields', () => {
  it('detects the language from the description', () => {
    expect(detectLanguage('林小雨是茶馆的老板娘, 喜欢 tea')).toBe('zh-CN');
    expect(detectLanguage('Luna believes in 弯角鼾兽 and other creatures nobody else believes in.')).toBe('en-US');
    expect(detectLanguage('', '你好')).toBe('zh-CN');
    expect(detectLanguage('')).toBe('en-US');
  });

  it('maps a Chinese card to character fields', () => {
    const fields = cardToCharacterFields(parseCardJson(fixture('v2-zh.json'), 'v2.json'));
    expect(fields.language).toBe('zh-CN');
    expect(fields.greeting).toBe('哟，新面孔！坐坐坐，先来一壶碧螺春？');
    expect(fields.exampleDialogues).toHaveLength(2);
    expect(fields.exampleDialogues[1]?.[1]).toEqual({ speaker: 'char', text: '认识呀，他天天来喝茶。' });
    expect(fields.characterVersion).toBe('1.2');
  });

  it('maps an English card, taking aliases from the nickname and extensions.omoide', () => {
    const fields = cardToCharacterFields(parseCardJson(fixture('v3-en.json'), 'v3.json'));
    expect(fields.language).toBe('en-US');
    expect(fields.aliases).toEqual(['the Captain', 'Cap']);
  });

  it('extensions.omoide.language overrides detection', () => {
    const card = parseCardJson(
      JSON.stringify({ name: 'X', description: 'An English description.' }),
      'x.json',
    );
    expect(cardToCharacterFields({ ...card, extensions: { omoide: { language: 'zh-CN' } } }).language).toBe('zh-CN');
    expect(cardToCharacterFields({ ...card, firstMessage: '  ' }).greeting).toBeNull();
  });

  it('character → card → character keeps the fields', () => {
    const fields = cardToCharacterFields(parseCardJson(fixture('v2-zh.json'), 'v2.json'));
    const card = characterToCard({ ...fields, language: 'en-US', aliases: ['小雨'] });
    expect(card.extensions.omoide).toEqual({ language: 'en-US', aliases: ['小雨'] });
    expect(card.extensions.some_other_tool).toEqual({ nested: [1, 2, { deep: true }] });
    const back = cardToCharacterFields(parseCardJson(JSON.stringify(toCardV3(card)), 'back.json'));
    expect(back).toEqual({ ...fields, language: 'en-US', aliases: ['小雨'], extensions: card.extensions });
  });
});
