/**
 * The normalized message model. Every adapter (console, Discord, QQ) decodes its platform's payload into an
 * IncomingMessage and encodes the engine's reply back; the engine never sees a platform type.
 */

/** The platforms omoide speaks on, by the one name each has in the database, in config and on the command line. */
export const platformNames = ['console', 'discord', 'qq'] as const;
export type PlatformName = (typeof platformNames)[number];

export interface Author {
  /** The platform's own user id (a Discord snowflake, a QQ number, a console user name). */
  readonly id: string;
  /** The name people see: nickname or group card first, then the account name. */
  readonly displayName: string;
  readonly isBot?: boolean;
}

/** Why the message is meant for the bot; empty when it merely passes by in a group. */
export interface Addressing {
  /** The bot was @-mentioned (anywhere in the message), or called by name where a channel allows that. */
  readonly mentioned: boolean;
  /** The message replies to (quotes) one of the bot's own messages. */
  readonly repliedToBot: boolean;
  /** A private conversation: a DM, a QQ private chat, the terminal. */
  readonly direct: boolean;
}

export interface QuotedMessage {
  readonly messageId: string;
  readonly authorId?: string;
  readonly text?: string;
}

export interface IncomingMessage {
  /** One of platformNames; a test or a bench may use a name of its own. */
  readonly platform: PlatformName | (string & {});
  /** Discord guild or QQ group; null in a DM or the terminal. */
  readonly guildId: string | null;
  readonly channelId: string;
  /** The channel a thread belongs to (Discord threads and forum posts); absent or null elsewhere. */
  readonly parentChannelId?: string | null;
  /** The platform's id for this message, kept so replies can quote it and memories can cite it. */
  readonly messageId: string;
  readonly author: Author;
  /** Plain text with the bot's own mention removed. */
  readonly text: string;
  readonly addressing: Addressing;
  readonly replyTo: QuotedMessage | null;
  /** The platform's timestamp: the engine uses it as the time of the message, never the wall clock. */
  readonly timestamp: Date;
}

export function isAddressed(message: IncomingMessage): boolean {
  const { mentioned, repliedToBot, direct } = message.addressing;
  return mentioned || repliedToBot || direct;
}

/** The engine's answer to one incoming message, which the adapter runtime delivers. */
export interface EngineReply {
  readonly characterId: string;
  readonly characterName: string;
  readonly text: string;
  /** Set when the LLM failed for good: `text` is then the localized apology and this says why. */
  readonly failure: { readonly kind: string; readonly reason: string } | null;
  readonly locale: string;
}
