/**
 * The platform-neutral command handler: `/persona` and `/memory`, written once against the engine and memory.
 * Adapters register `definitions` on their platform and forward invocations to `run`; permission checks happen
 * here, so a refused command is refused the same way everywhere, in the user's locale.
 */
import type { CharacterCatalog } from '../characters/catalog.js';
import type { CommandHandler } from '../core/commands.js';
import type { Engine } from '../engine/engine.js';
import { OmoideError } from '../core/errors.js';
import type { Translator } from '../core/i18n.js';
import type { Logger } from '../util/logger.js';
import { createLogger } from '../util/logger.js';
import type { Memory } from '../memory/memory.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { createCommandContext } from './command-context.js';
import {
  createMemoryCommand,
  memoryDefinition,
  type ConsolidateFunction,
} from './memory-command.js';
import type { MemoryScopeMode } from '../memory/scope-keys.js';
import { personaDefinition, runPersonaCommand } from './persona-command.js';
import type { PersonEraser } from '../memory/erase-person.js';

export interface CommandDependencies {
  readonly engine: Engine;
  readonly characters: CharacterCatalog;
  readonly translator: Translator;
  readonly memory: Memory;
  readonly store: ConversationStore;
  /** The `memory.scope` setting (config.memory.scope): which guilds a person's `forget-me` reaches. */
  readonly memoryScope: MemoryScopeMode;
  /** Runs due consolidation jobs for one character and guild, optionally one user (`/memory consolidate [user]`); absent: not available. */
  readonly consolidate?: ConsolidateFunction;
  /** Erases a person's memories and dialogue of a scope (`/memory forget-me`, `forget-user`). */
  readonly erase: PersonEraser;
  /** After `/persona reload`: index new or changed scripts in the background. */
  readonly onReloaded?: () => void;
  readonly logger?: Logger;
}

export function createCommandHandler(dependencies: CommandDependencies): CommandHandler {
  const { engine, translator } = dependencies;
  const logger = dependencies.logger ?? createLogger('commands');
  const definitions = [personaDefinition, memoryDefinition];
  const memoryCommand = createMemoryCommand(dependencies);
  return {
    definitions,
    async run(invocation) {
      const character = engine.characterFor(invocation.platform, invocation.guildId, invocation.channelId);
      const context = createCommandContext(invocation, translator, engine.localeFor(character));
      const definition = definitions.find((candidate) => candidate.name === invocation.command);
      const subcommand = definition?.subcommands.find((candidate) => candidate.name === invocation.subcommand);
      if (!definition || !subcommand) {
        return { text: context.t('commands.unknown-subcommand', { command: invocation.command, subcommand: invocation.subcommand }), private: true };
      }
      if (subcommand.ownerOnly && !invocation.isOwner) {
        logger.info('refused an owner command', { command: `${invocation.command} ${invocation.subcommand}`, platform: invocation.platform });
        return { text: context.t('commands.owner-only', { command: `/${invocation.command} ${invocation.subcommand}` }), private: true };
      }
      if (subcommand.adminOnly && !invocation.isAdmin) {
        logger.info('refused an admin command', { command: `${invocation.command} ${invocation.subcommand}`, platform: invocation.platform });
        return { text: context.t('commands.admin-only', { command: `/${invocation.command} ${invocation.subcommand}` }), private: true };
      }
      try {
        switch (definition.name) {
          case 'persona':
            return runPersonaCommand(invocation, context, { ...dependencies, logger });
          case 'memory':
            return await memoryCommand.run(invocation, context);
          default:
            return { text: context.t('commands.unknown-subcommand', { command: invocation.command, subcommand: invocation.subcommand }), private: true };
        }
      } catch (error) {
        if (error instanceof OmoideError) return { text: error.message, private: true };
        throw error;
      }
    },
  };
}
