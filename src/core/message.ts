/**
 * The normalized message model. Every adapter (console, Discord, QQ) decodes its platform's payload into an
 * IncomingMessage and encodes the engine's reply back; the engine never sees a platform type.
 */

/** Platform names as stored in the database. Adapters may add their own. */
export type PlatformName = 'console' | 'discord' | 'onebot' | (string & {});

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
  readonly platform: PlatformName;
  /** Discord guild or QQ group; null in a DM or the terminal. */
  readonly guildId: string | null;
  readonly channelId: string;
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

/** What the engine hands back to an adapter for one incoming message. */
export interface EngineReply {
  readonly characterId: string;
  readonly characterName: string;
  readonly text: string;
  /** Set when the LLM failed for good: `text` is then the localized apology and this says why. */
  readonly failure: { readonly kind: string; readonly reason: string } | null;
  readonly locale: string;
}

/** The one entry point adapters call per incoming message (the engine implements it). */
export interface MessageHandler {
  /**
   * Resolves to the reply, or null when the message is not for the bot (it may still be kept as group context).
   * `onTyping` is called once generation starts so adapters can show a typing indicator.
   */
  handle(message: IncomingMessage, options?: { signal?: AbortSignal; onTyping?: () => void }): Promise<EngineReply | null>;
}
