/** `/persona list | show | set <character> | reload`: which character speaks in this channel. */
import type { CharacterCatalog } from '../characters/catalog.js';
import type { Character } from '../characters/character.js';
import type { CommandDefinition, CommandInvocation, CommandResult } from '../core/commands.js';
import { OmoideError } from '../core/errors.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../util/logger.js';
import type { CommandContext } from './command-context.js';

export const personaDefinition: CommandDefinition = {
  name: 'persona',
  description: 'Which character speaks in this channel',
  subcommands: [
    { name: 'list', description: 'List the characters', options: [], adminOnly: false },
    { name: 'show', description: 'Show the character speaking here', options: [], adminOnly: false },
    {
      name: 'set',
      description: 'Choose the character for this channel (admins)',
      options: [{ name: 'character', description: 'Character id or name', type: 'string', required: true }],
      adminOnly: true,
    },
    { name: 'reload', description: 'Reload the characters from disk (bot owners)', options: [], adminOnly: true, ownerOnly: true },
  ],
};

/** Finds a character by id, name or alias, ignoring case and surrounding spaces. */
export function findCharacter(characters: CharacterCatalog, wanted: string): Character | undefined {
  const needle = wanted.trim().toLowerCase();
  return (
    characters.get(needle) ??
    characters.list().find((c) => c.name.toLowerCase() === needle || c.aliases.some((alias) => alias.toLowerCase() === needle))
  );
}

function summary(text: string, limit = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > limit ? `${flat.slice(0, limit)}…` : flat;
}

export function runPersonaCommand(
  invocation: CommandInvocation,
  context: CommandContext,
  dependencies: {
    engine: Engine;
    characters: CharacterCatalog;
    /** After a reload: new or changed scripts get indexed in the background, not by the next person to talk. */
    onReloaded?: () => void;
    logger: Logger;
  },
): CommandResult {
  const { engine, characters } = dependencies;
  const { t } = context;
  const current = engine.characterFor(invocation.platform, invocation.guildId, invocation.channelId);
  switch (invocation.subcommand) {
    case 'list': {
      const lines = characters
        .list()
        .map((c) => `${c.id === current.id ? '▶' : '•'} ${c.id} — ${c.name} (${c.language})`);
      return { text: [t('commands.persona.list-title'), ...lines].join('\n'), private: false };
    }
    case 'show':
      return {
        text: t('commands.persona.show', { name: current.name, id: current.id, description: summary(current.description) }),
        private: false,
      };
    case 'set': {
      const wanted = String(invocation.options.character ?? '');
      const character = findCharacter(characters, wanted);
      if (!character) {
        return {
          text: t('commands.persona.unknown', { id: wanted, available: characters.list().map((c) => c.id).join(', ') }),
          private: true,
        };
      }
      engine.setCharacter(invocation.platform, invocation.guildId, invocation.channelId, character.id);
      return { text: t('commands.persona.set', { name: character.name, id: character.id }), private: false };
    }
    case 'reload': {
      let errors;
      try {
        errors = characters.reload();
      } catch (error) {
        // Not one character loads: the ones loaded before stay, and the folder's path is not for the chat to see.
        if (!(error instanceof OmoideError)) throw error;
        dependencies.logger.error('reload: no character could be loaded', { error });
        return { text: t('commands.persona.reload-failed'), private: true };
      }
      dependencies.onReloaded?.();
      const problems = errors.map((error) => `⚠ ${characters.describeError(error)}`);
      return { text: [t('commands.persona.reloaded', { count: characters.list().length }), ...problems].join('\n'), private: true };
    }
    default:
      return { text: t('commands.unknown-subcommand', { command: invocation.command, subcommand: invocation.subcommand }), private: true };
  }
}
