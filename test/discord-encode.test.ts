import { describe, expect, it } from 'vitest';
import { discordAllowedMentions } from '../src/adapters/discord/encode.js';

describe('discord encode policy', () => {
  it('never lets the content ping anyone but the replied user', () => {
    expect(discordAllowedMentions).toEqual({ parse: [], repliedUser: true });
  });
});
