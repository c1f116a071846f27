/**
 * `/persona` at the handler level over a real characters folder: reloading changes every server at once, so only the
 * bot's owners may; what it reports names files from the characters folder, never the disk's root; and scripts are
 * re-indexed in the background after it.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CharacterCatalog } from '../src/characters/catalog.js';
import { createCommandHandler } from '../src/commands/index.js';
import type { CommandHandler, CommandInvocation } from '../src/core/commands.js';
import { loadTranslator } from '../src/core/i18n.js';
import type { Engine } from '../src/engine/engine.js';
import type { Memory } from '../src/memory/memory.js';
import type { ConversationStore } from '../src/store/conversation-store.js';
import { localesDirectory, shippedCharactersDirectory } from '../src/util/paths.js';

const translator = loadTranslator(localesDirectory);
let directory: string;
let catalog: CharacterCatalog;
let reloads: number;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-persona-'));
  cpSync(shippedCharactersDirectory, directory, { recursive: true });
  catalog = new CharacterCatalog(directory, 'juniper');
  catalog.reload();
  reloads = 0;
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

function handler(): CommandHandler {
  const engine = { characterFor: () => catalog.get('juniper')!, localeFor: () => 'en-US' } as unknown as Engine;
  return createCommandHandler({
    engine, characters: catalog, translator, memory: {} as Memory, store: {} as ConversationStore, memoryScope: 'per-guild',
    erase: () => ({ memories: 0, messages: 0 }),
    onReloaded: () => reloads++,
  });
}

function reload(who: { isAdmin: boolean; isOwner: boolean }): CommandInvocation {
  return {
    platform: 'discord', guildId: 'g1', channelId: 'c1', author: { id: 'u1', displayName: 'Ann' }, ...who, locale: 'en-US',
    command: 'persona', subcommand: 'reload', options: {}, timestamp: new Date(),
  };
}

describe('/persona reload', () => {
  it("is the owners': a server's admin is refused, in the invoker's language", async () => {
    const refused = await handler().run(reload({ isAdmin: true, isOwner: false }));
    expect(refused).toEqual({ text: "Only the bot's owners can use /persona reload: it changes every server at once.", private: true });
    expect(reloads).toBe(0);
  });

  it('names a broken file from the characters folder, not the disk, and re-indexes scripts in the background', async () => {
    writeFileSync(join(directory, 'juniper', 'character.yaml'), 'name: [unclosed\n');
    const result = await handler().run(reload({ isAdmin: true, isOwner: true }));
    expect(result.text).toContain('Reloaded: 1 characters.');
    expect(result.text).toMatch(/⚠ juniper\/character\.yaml: /);
    expect(result.text).not.toContain(directory);
    expect(reloads).toBe(1);
  });

  it('keeps the characters it had, without a path, when none can be loaded', async () => {
    for (const id of ['juniper', 'xiaoman']) writeFileSync(join(directory, id, 'character.yaml'), 'name: [unclosed\n');
    const result = await handler().run(reload({ isAdmin: true, isOwner: true }));
    expect(result.text).toBe('No character could be loaded from the characters folder; the ones loaded before stay. See the log.');
    expect(catalog.list().map((character) => character.id)).toEqual(['juniper', 'xiaoman']);
  });
});
