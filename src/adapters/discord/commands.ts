/**
 * Wiring the platform-neutral commands (src/core/commands.ts) to Discord slash commands: encoding the definitions
 * for registration and decoding an interaction into a CommandInvocation. Whether a user may run an admin-only
 * subcommand is decided by the CommandHandler; the adapter only reports `isAdmin`.
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  GuildMember,
  InteractionContextType,
  PermissionFlagsBits,
  type ApplicationCommandBooleanOptionData,
  type ApplicationCommandStringOptionData,
  type ApplicationCommandUserOptionData,
  type ApplicationCommandSubCommandData,
  type ChatInputApplicationCommandData,
  type ChatInputCommandInteraction,
} from 'discord.js';
import type { CommandDefinition, CommandInvocation, CommandOptionDefinition } from '../../core/commands.js';
import { ConfigError } from '../../core/errors.js';

// Discord's own rules for chat-input command and option names, and the description limit.
const commandNamePattern = /^[-_\p{Ll}\p{Lo}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const descriptionLimit = 100;

/** The definitions as discord.js registration data; throws ConfigError naming the first name Discord would refuse. */
export function encodeCommandDefinitions(
  definitions: readonly CommandDefinition[],
): ChatInputApplicationCommandData[] {
  return definitions.map((definition) => {
    checkNaming(definition.name, definition.description, `/${definition.name}`);
    const subcommands = definition.subcommands.map((subcommand): ApplicationCommandSubCommandData => {
      const where = `/${definition.name} ${subcommand.name}`;
      checkNaming(subcommand.name, subcommand.description, where);
      // Discord requires every required option to come before the optional ones.
      const ordered = [...subcommand.options].sort((a, b) => Number(b.required) - Number(a.required));
      return {
        type: ApplicationCommandOptionType.Subcommand,
        name: subcommand.name,
        description: subcommand.description,
        options: ordered.map((option) => encodeOption(option, where)),
      };
    });
    return {
      type: ApplicationCommandType.ChatInput,
      name: definition.name,
      description: definition.description,
      contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
      options: subcommands,
    };
  });
}

type EncodedOption =
  | ApplicationCommandStringOptionData
  | ApplicationCommandUserOptionData
  | ApplicationCommandBooleanOptionData;

function encodeOption(option: CommandOptionDefinition, where: string): EncodedOption {
  checkNaming(option.name, option.description, `${where} option ${option.name}`);
  const base = { name: option.name, description: option.description, required: option.required };
  switch (option.type) {
    case 'string':
      return { ...base, type: ApplicationCommandOptionType.String };
    case 'user':
      return { ...base, type: ApplicationCommandOptionType.User };
    case 'boolean':
      return { ...base, type: ApplicationCommandOptionType.Boolean };
    default:
      throw new ConfigError(`${where} option ${option.name}: type`, 'one of string, user, boolean', 'command definitions');
  }
}

function checkNaming(name: string, description: string, where: string): void {
  if (!commandNamePattern.test(name)) {
    throw new ConfigError(`${where}: name "${name}"`, '1-32 lowercase letters, digits, - or _', 'command definitions');
  }
  if (description.length < 1 || description.length > descriptionLimit) {
    throw new ConfigError(`${where}: description`, `1-${descriptionLimit} characters`, 'command definitions');
  }
}

/** Discord locales ('zh-CN', 'zh-TW', 'en-GB', 'ja', …) mapped to the two omoide ships. */
export function mapDiscordLocale(locale: string | null | undefined): string | null {
  if (!locale) return null;
  return locale.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en-US';
}

/**
 * The invocation for a chat-input interaction, or null when it names a command or subcommand that is not
 * defined (a stale registration).
 */
export function decodeCommandInvocation(
  interaction: ChatInputCommandInteraction,
  definitions: readonly CommandDefinition[],
  ownerIds: readonly string[],
): CommandInvocation | null {
  const definition = definitions.find((candidate) => candidate.name === interaction.commandName);
  if (!definition) return null;
  const subcommandName = interaction.options.getSubcommand(false) ?? '';
  const subcommand = definition.subcommands.find((candidate) => candidate.name === subcommandName);
  if (definition.subcommands.length > 0 && !subcommand) return null;

  const options: Record<string, string | boolean | undefined> = {};
  for (const option of subcommand?.options ?? []) {
    // `value` of a user option is the user id, which is what the handler wants (no need for resolved data).
    const value = interaction.options.get(option.name)?.value;
    if (option.type === 'boolean') options[option.name] = typeof value === 'boolean' ? value : undefined;
    else options[option.name] = typeof value === 'string' ? value : undefined;
  }

  const { member, user } = interaction;
  let displayName = user.displayName;
  if (member instanceof GuildMember) displayName = member.displayName;
  else if (member?.nick) displayName = member.nick;

  const managesGuild = interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
  return {
    platform: 'discord',
    guildId: interaction.guildId,
    channelId: interaction.channelId,
    author: { id: user.id, displayName, isBot: user.bot },
    isAdmin: managesGuild || ownerIds.includes(user.id),
    isOwner: ownerIds.includes(user.id),
    locale: mapDiscordLocale(interaction.locale),
    command: definition.name,
    subcommand: subcommandName,
    options,
    timestamp: interaction.createdAt,
  };
}
