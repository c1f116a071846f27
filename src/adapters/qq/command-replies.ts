/**
 * The platform-neutral commands as Koishi commands (`/persona`, `/persona.set <character>`, ...), and their answers:
 * a public result in the group, quoting the asker; a private one by private message with a short note in the group.
 * Whether a user may run an admin-only subcommand is decided by the CommandHandler; the adapter only reports
 * `isAdmin`.
 */
import type { Context, Session } from 'koishi';
import type { CommandHandler, CommandInvocation, CommandResult } from '../../core/commands.js';
import { InputError } from '../../core/errors.js';
import type { Translator } from '../../core/i18n.js';
import type { Logger } from '../../util/logger.js';
import type { MessageRuntime } from '../runtime/runtime.js';
import { splitText } from '../runtime/split-text.js';
import { decodeCommandInvocation, koishiDeclaration, koishiOptionDeclaration, positionalOption } from './commands.js';
import { loadKoishi } from './koishi.js';
import { encodeFile, sendParts, sessionTarget, type Target } from './send.js';

export interface QQCommandOptions {
  readonly commands: CommandHandler;
  readonly runtime: MessageRuntime;
  readonly translator: Translator;
  readonly locale: string;
  readonly ownerIds: readonly string[];
  readonly messageLimit: number;
  readonly logger: Logger;
}

export function registerCommands(context: Context, options: QQCommandOptions): void {
  const { commands, runtime, logger } = options;
  const t = (key: string) => options.translator.t(options.locale, key);
  for (const definition of commands.definitions) {
    const usage = [
      t('adapters.subcommands'),
      ...definition.subcommands.map((subcommand) => `/${definition.name} ${subcommand.name} — ${subcommand.description}`),
    ].join('\n');
    const parent = context.command(definition.name, definition.description, { captureQuote: false });
    parent.action(({ session }) => {
      if (!session || !runtime.accepting) return;
      return runtime.track(
        sendParts(session.bot, sessionTarget(session), [usage]).catch((error: unknown) => {
          logger.error('could not send command usage', { command: definition.name, error });
        }),
      );
    });
    for (const subcommand of definition.subcommands) {
      const command = context.command(koishiDeclaration(definition.name, subcommand), subcommand.description, { captureQuote: false });
      const positional = positionalOption(subcommand);
      for (const option of subcommand.options) {
        if (option !== positional) command.option(option.name, koishiOptionDeclaration(option));
      }
      command.action(({ session, options: flags, args }, value: unknown) => {
        if (!session || !runtime.accepting) return;
        const work = (async () => {
          let invocation: CommandInvocation;
          try {
            invocation = decodeCommandInvocation(
              session,
              { command: definition.name, subcommand, flags: flags ?? {}, positional: value, words: args ?? [] },
              options.ownerIds,
              (source) => loadKoishi().koishi.h.parse(source),
            );
          } catch (error) {
            if (!(error instanceof InputError)) throw error;
            await sendParts(session.bot, sessionTarget(session), [error.message]);
            return;
          }
          await sendResult(session, await run(invocation), options);
        })().catch((error: unknown) => {
          logger.error('could not answer command', { command: definition.name, subcommand: subcommand.name, error });
        });
        return runtime.track(work);
      });
    }
  }

  async function run(invocation: CommandInvocation): Promise<CommandResult> {
    try {
      return await commands.run(invocation);
    } catch (error) {
      logger.error('command failed', { command: invocation.command, subcommand: invocation.subcommand, error });
      return { text: t('adapters.command-failed'), private: false };
    }
  }
}

/**
 * Private results go to the user by private message, with a short note in the group. A file goes as text: OneBot v11
 * has no standard upload, and `upload_group_file` / `upload_private_file` (go-cqhttp, NapCat extensions) need a path
 * on the implementation's own disk, which omoide may not share. A file that fits in one message goes where the text
 * goes; a longer one goes privately, in at most `maxFileParts` parts.
 */
async function sendResult(session: Session, result: CommandResult, options: QQCommandOptions): Promise<void> {
  const t = (key: string) => options.translator.t(options.locale, key);
  const bot = session.bot;
  const userId = session.userId!;
  const textParts = splitText(result.text, options.messageLimit);
  const fileParts = result.file ? encodeFile(result.file, options.messageLimit, t('adapters.truncated')) : [];
  const fileFits = fileParts.length <= 1;
  const publicParts = result.private ? [] : [...textParts, ...(fileFits ? fileParts : [])];
  const privateParts = result.private ? [...textParts, ...fileParts] : fileFits ? [] : fileParts;
  const privateTarget: Target = { kind: 'private', userId };

  if (session.isDirect) {
    await sendParts(bot, privateTarget, [...publicParts, ...privateParts]);
    return;
  }
  const groupTarget = sessionTarget(session);
  if (publicParts.length > 0) await sendParts(bot, groupTarget, publicParts);
  if (privateParts.length === 0) return;
  let note = t('adapters.sent-privately');
  try {
    await sendParts(bot, privateTarget, privateParts);
  } catch (error) {
    // Usually: not a friend, and the implementation refuses temporary sessions. Never fall back to the group.
    options.logger.warn('could not send a private command result', { user: userId, error });
    note = t('adapters.private-failed');
  }
  await sendParts(bot, publicParts.length > 0 && groupTarget.kind === 'group' ? { ...groupTarget, quote: null } : groupTarget, [note]);
}
