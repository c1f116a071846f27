import { describe, expect, it } from 'vitest';
import { decodeUserOption, koishiDeclaration, positionalOption } from '../src/adapters/qq/commands.js';
import { ConfigError, InputError } from '../src/core/errors.js';

describe('QQ command mapping', () => {
  const set = {
    name: 'set',
    description: 'choose',
    options: [{ name: 'character', description: 'id', type: 'string' as const, required: true }],
    adminOnly: true,
  };

  it('makes one required string option positional and the rest --flags', () => {
    expect(positionalOption(set)?.name).toBe('character');
    expect(koishiDeclaration('persona', set)).toBe('persona.set <character:text>');
    const twoStrings = { ...set, options: [...set.options, { name: 'note', description: 'n', type: 'string' as const, required: true }] };
    expect(positionalOption(twoStrings)).toBeNull();
    expect(koishiDeclaration('persona', twoStrings)).toBe('persona.set');
  });

  it('refuses names Koishi cannot parse as one word', () => {
    expect(() => koishiDeclaration('persona', { ...set, name: 'set it' })).toThrow(ConfigError);
  });

  it('reads a user as an @, @number, onebot:number or bare QQ number', () => {
    const parse = (source: string) =>
      source.startsWith('<at') ? [{ type: 'at', attrs: { id: /id="(\d+)"/.exec(source)?.[1] } }] : [{ type: 'text', attrs: { content: source } }];
    expect(decodeUserOption(parse, '<at id="40004"/>', 'user')).toBe('40004');
    expect(decodeUserOption(parse, '@40004', 'user')).toBe('40004');
    expect(decodeUserOption(parse, 'onebot:40004', 'user')).toBe('40004');
    expect(decodeUserOption(parse, ' 40004 ', 'user')).toBe('40004');
    expect(() => decodeUserOption(parse, 'kyon', 'user')).toThrow(InputError);
  });
});
