/**
 * Wiring the platform-neutral commands (src/core/commands.ts) to Koishi commands: `/persona list`,
 * `/persona set <character>`, `/memory show --user @someone`. Koishi parses the text; this module only maps the
 * definitions onto Koishi declarations and the parsed values back onto a CommandInvocation. Whether a user may
 * run an admin-only subcommand is decided by the CommandHandler; the adapter only reports `isAdmin`.
 */
import type { Session } from 'koishi';
import type { CommandInvocation, CommandOptionDefinition, SubcommandDefinition } from '../../core/commands.js';
import { ConfigError, InputError } from '../../core/errors.js';

/** Option and command names Koishi can parse as words (and that read well after a slash). */
const namePattern = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * The option that becomes a positional argument: only when the subcommand has exactly one required string
 * option (`/persona set 凉宫春日`); every other option is a `--name value` flag.
 */
export function positionalOption(subcommand: SubcommandDefinition): CommandOptionDefinition | null {
  const requiredStrings = subcommand.options.filter((option) => option.type === 'string' && option.required);
  return requiredStrings.length === 1 ? requiredStrings[0]! : null;
}

/** The Koishi declaration for a subcommand, e.g. `persona.set <character:text>` ('text' keeps spaces in names). */
export function koishiDeclaration(command: string, subcommand: SubcommandDefinition): string {
  for (const name of [command, subcommand.name, ...subcommand.options.map((option) => option.name)]) {
    if (!namePattern.test(name)) {
      throw new ConfigError(`commands.${command}`, `"${name}" must match ${String(namePattern)} to be a QQ command`, 'qq adapter');
    }
  }
  const positional = positionalOption(subcommand);
  return `${command}.${subcommand.name}${positional ? ` <${positional.name}:text>` : ''}`;
}

/** The Koishi option declaration: a bare flag for booleans, one value otherwise. */
export function koishiOptionDeclaration(option: CommandOptionDefinition): string {
  return option.type === 'boolean' ? '' : `<${option.name}:string>`;
}

/**
 * A `user` option accepts an @ (`<at id="10001"/>` as Koishi renders it), `@10001`, `onebot:10001` or a bare QQ
 * number; anything else is an InputError naming the option.
 */
export function decodeUserOption(parseElements: HParse, value: string, optionName: string): string {
  const trimmed = value.trim();
  for (const element of parseElements(trimmed)) {
    if (element.type === 'at' && element.attrs.id !== undefined) {
      const id = String(element.attrs.id);
      if (/^\d{5,12}$/.test(id)) return id;
    }
  }
  const bare = trimmed.replace(/^@/, '').replace(/^onebot:/, '');
  if (/^\d{5,12}$/.test(bare)) return bare;
  throw new InputError(`option "${optionName}": expected an @mention or a QQ number, got "${trimmed}"`);
}

/** Parses element markup; the adapter passes Koishi's `h.parse`. */
export type HParse = (source: string) => Array<{ type: string; attrs: Record<string, unknown> }>;

/** Group owners and admins, and the configured owner ids, are admins; private chats only count owner ids. */
export function isQQAdmin(session: Pick<Session, 'userId' | 'isDirect' | 'event'>, ownerIds: readonly string[]): boolean {
  if (session.userId && ownerIds.includes(session.userId)) return true;
  if (session.isDirect) return false;
  const roles = session.event?.member?.roles ?? [];
  return roles.some((role) => role.id === 'owner' || role.id === 'admin');
}

export interface ParsedCommand {
  readonly command: string;
  readonly subcommand: SubcommandDefinition;
  /** Koishi's parsed `--name` options. */
  readonly flags: Readonly<Record<string, unknown>>;
  /** The positional argument's value, when the subcommand has one. */
  readonly positional: unknown;
  /**
   * Every argument Koishi parsed (`argv.args`). A `name:value` word among them fills that option, the way Discord's
   * client writes options: the handler's texts tell users to run e.g. `/memory forget-me confirm:K7Q2ZP`, and that
   * must work when typed on QQ too (Koishi itself only knows `--confirm K7Q2ZP`).
   */
  readonly words?: readonly unknown[];
}

/** The value of a `name:value` word for this option among the parsed arguments, if any. */
function namedWord(words: readonly unknown[], name: string): string | undefined {
  const prefix = `${name}:`;
  for (const word of words) {
    if (typeof word === 'string' && word.startsWith(prefix) && word.length > prefix.length) return word.slice(prefix.length);
  }
  return undefined;
}

/** Builds the invocation from what Koishi parsed; throws InputError for a missing required option or a bad user. */
export function decodeCommandInvocation(
  session: Pick<Session, 'userId' | 'isDirect' | 'event' | 'guildId' | 'channelId' | 'timestamp'>,
  parsed: ParsedCommand,
  ownerIds: readonly string[],
  parseElements: HParse,
): CommandInvocation {
  const positional = positionalOption(parsed.subcommand);
  const options: Record<string, string | boolean | undefined> = {};
  for (const option of parsed.subcommand.options) {
    let raw = option === positional ? parsed.positional : parsed.flags[option.name];
    if (option !== positional && option.type !== 'boolean' && raw === undefined) raw = namedWord(parsed.words ?? [], option.name);
    let value: string | boolean | undefined;
    if (option.type === 'boolean') value = raw === undefined ? undefined : Boolean(raw);
    else if (raw !== undefined && raw !== null && String(raw).trim().length > 0) {
      value = option.type === 'user' ? decodeUserOption(parseElements, String(raw), option.name) : String(raw).trim();
    }
    if (value === undefined && option.required) {
      throw new InputError(`/${parsed.command} ${parsed.subcommand.name}: missing "${option.name}"`);
    }
    options[option.name] = value;
  }
  const userId = session.userId ?? '';
  const member = session.event?.member;
  const user = session.event?.user;
  const displayName = [member?.nick, user?.nick, user?.name].find((name) => name && name.trim().length > 0) ?? userId;
  return {
    platform: 'qq',
    guildId: session.isDirect ? null : (session.guildId ?? session.channelId ?? null),
    channelId: session.channelId ?? `private:${userId}`,
    author: { id: userId, displayName, isBot: false },
    isAdmin: isQQAdmin(session, ownerIds),
    isOwner: ownerIds.includes(userId),
    locale: null,
    command: parsed.command,
    subcommand: parsed.subcommand.name,
    options,
    timestamp: new Date(typeof session.timestamp === 'number' && session.timestamp > 0 ? session.timestamp : Date.now()),
  };
}
