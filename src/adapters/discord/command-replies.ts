/**
 * Answering a slash command: the invocation goes to the CommandHandler, its result back as the interaction's reply
 * (ephemeral when private). A command still running after `deferMs` is deferred, since Discord wants an answer within
 * 3 s; its result then edits the deferred reply. Long text continues in follow-ups; a file goes as an attachment.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { CommandHandler, CommandResult } from '../../core/commands.js';
import type { Translator } from '../../core/i18n.js';
import type { Logger } from '../../util/logger.js';
import { splitText } from '../runtime/split-text.js';
import { decodeCommandInvocation, mapDiscordLocale } from './commands.js';
import { discordAllowedMentions, discordMessageLimit } from './encode.js';

export interface CommandReplyOptions {
  readonly commands: CommandHandler;
  readonly translator: Translator;
  readonly ownerIds: readonly string[];
  readonly deferMs: number;
  readonly logger: Logger;
}

export async function answerCommand(interaction: ChatInputCommandInteraction, options: CommandReplyOptions): Promise<void> {
  const { commands, translator, logger } = options;
  const invocation = decodeCommandInvocation(interaction, commands.definitions, options.ownerIds);
  if (!invocation) {
    logger.warn('unknown command (stale registration?)', { command: interaction.commandName });
    const content = translator.t(mapDiscordLocale(interaction.locale) ?? 'en-US', 'adapters.command-unknown');
    await interaction.reply({ content, flags: MessageFlags.Ephemeral });
    return;
  }

  let deferring: Promise<unknown> | null = null;
  // Ephemeral while deferred: the result's privacy is unknown yet, so err on the private side.
  const deferTimer = setTimeout(() => {
    deferring = interaction.deferReply({ flags: MessageFlags.Ephemeral }).catch((error: unknown) => {
      logger.warn('could not defer command reply', { command: invocation.command, error });
    });
  }, options.deferMs);
  let result: CommandResult;
  try {
    result = await commands.run(invocation);
  } catch (error) {
    logger.error('command failed', { command: invocation.command, subcommand: invocation.subcommand, error });
    result = { text: translator.t(invocation.locale ?? 'en-US', 'adapters.command-failed'), private: true };
  } finally {
    clearTimeout(deferTimer);
  }
  if (deferring) await deferring;
  await sendResult(interaction, result, deferring !== null);
}

async function sendResult(interaction: ChatInputCommandInteraction, result: CommandResult, deferred: boolean): Promise<void> {
  const parts = splitText(result.text, discordMessageLimit);
  const files = result.file ? [{ attachment: Buffer.from(result.file.content, 'utf8'), name: result.file.name }] : [];
  // Discord refuses a message with neither content nor a file.
  const [first = files.length > 0 ? '' : '✓', ...rest] = parts;
  const flags = result.private || deferred ? MessageFlags.Ephemeral : undefined;
  const content = first.length > 0 ? first : undefined;
  if (deferred) await interaction.editReply({ content, files, allowedMentions: discordAllowedMentions });
  else await interaction.reply({ content, files, flags, allowedMentions: discordAllowedMentions });
  for (const part of rest) {
    await interaction.followUp({ content: part, flags, allowedMentions: discordAllowedMentions });
  }
}
