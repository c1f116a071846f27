/**
 * Decoding a discord.js Message into omoide's IncomingMessage. Pure apart from reading discord.js caches: the
 * adapter does any fetching (a referenced message the gateway did not include) and passes the result in.
 */
import { MessageReferenceType, type Message } from 'discord.js';
import type { IncomingMessage, QuotedMessage } from '../../core/message.js';

export interface DiscordDecodeOptions {
  /** The message this one replies to, when the adapter had to fetch it; otherwise the channel cache is used. */
  readonly referencedMessage?: Message | null;
}

const userMentionPattern = /<@!?(\d+)>/g;

/**
 * Returns null for messages omoide never answers: its own, other bots' and webhooks', and Discord's system
 * messages (joins, pins). Everything else is decoded, addressed or not; the caller decides what to do with it.
 */
export function decodeDiscordMessage(
  message: Message,
  botUserId: string,
  options: DiscordDecodeOptions = {},
): IncomingMessage | null {
  if (message.author.id === botUserId || message.author.bot || message.webhookId || message.system) return null;

  const botMentionToken = new RegExp(`<@!?${botUserId}>[^\\S\\n]*`, 'g');
  const mentionsBotInText = botMentionToken.test(message.content);
  const text = readableText(message, botUserId);

  const reference = message.reference;
  const isReply = reference?.messageId !== undefined && reference.type !== MessageReferenceType.Forward;
  const referenced =
    isReply && reference?.messageId
      ? (options.referencedMessage ?? message.channel.messages.cache.get(reference.messageId) ?? null)
      : null;
  const repliedUserId = isReply ? (message.mentions.repliedUser?.id ?? referenced?.author.id) : undefined;
  const repliedToBot = repliedUserId === botUserId;

  // A reply that pings its author puts that author in `mentions` too: that is a reply, not an @mention, unless the
  // text also names the bot explicitly.
  const mentioned = message.mentions.users.has(botUserId) && (mentionsBotInText || !repliedToBot);

  let replyTo: QuotedMessage | null = null;
  if (isReply && reference?.messageId) {
    replyTo = {
      messageId: reference.messageId,
      ...(repliedUserId !== undefined && { authorId: repliedUserId }),
      ...(referenced && referenced.content.length > 0 && { text: readableText(referenced, botUserId) }),
    };
  }

  return {
    platform: 'discord',
    guildId: message.guildId,
    channelId: message.channelId,
    parentChannelId: message.channel.isThread() ? message.channel.parentId : null,
    messageId: message.id,
    author: {
      id: message.author.id,
      displayName: message.member?.displayName ?? message.author.displayName,
      isBot: message.author.bot,
    },
    text,
    addressing: { mentioned, repliedToBot, direct: !message.inGuild() },
    replyTo,
    timestamp: message.createdAt,
  };
}

/** The content as a person reads it: the bot's own mention removed, other mentions and emoji by name. */
function readableText(message: Message, botUserId: string): string {
  const { mentions } = message;
  return message.content
    .replace(new RegExp(`<@!?${botUserId}>[^\\S\\n]*`, 'g'), '')
    .replace(userMentionPattern, (token, id: string) => {
      const name = mentions.members?.get(id)?.displayName ?? mentions.users.get(id)?.displayName;
      return name === undefined ? token : `@${name}`;
    })
    .replace(/<@&(\d+)>/g, (token, id: string) => {
      const role = mentions.roles.get(id);
      return role ? `@${role.name}` : token;
    })
    .replace(/<#(\d+)>/g, (token, id: string) => {
      const channel = mentions.channels.get(id);
      return channel && 'name' in channel && channel.name ? `#${channel.name}` : token;
    })
    .replace(/<a?:(\w+):\d+>/g, ':$1:')
    .trim();
}
