/**
 * Decoding a Koishi session from the OneBot v11 adapter into omoide's IncomingMessage. Pure: the adapter has
 * already fetched what the session needs (a quoted message arrives as `session.quote`, fetched by the onebot
 * adapter through `get_msg`).
 */
import type { Element, Session } from 'koishi';
import type { IncomingMessage, QuotedMessage } from '../../core/message.js';

/** The part of a Koishi session decoding reads; a real `Session` fits it. */
export type OneBotSession = Pick<
  Session,
  'userId' | 'guildId' | 'channelId' | 'messageId' | 'isDirect' | 'elements' | 'quote' | 'timestamp' | 'event'
>;

/**
 * Returns null for messages omoide never answers: the bot's own (including `message_sent` echoes) and sessions
 * without a sender or channel. Everything else is decoded, addressed or not; the caller decides what to do.
 */
export function decodeOneBotSession(session: OneBotSession, selfId: string): IncomingMessage | null {
  const userId = session.userId;
  const channelId = session.channelId;
  if (!userId || !channelId || userId === selfId) return null;

  const elements = session.elements ?? [];
  // session.stripped.atSelf only sees @s at the very start; QQ users often write "hello @bot" or reply-then-@.
  const mentioned = containsAt(elements, selfId);
  const quote = session.quote;
  const quotedAuthorId = quote?.user?.id;
  const quotedId = quote?.id ?? quote?.messageId;
  let replyTo: QuotedMessage | null = null;
  if (quote && quotedId) {
    const quotedText = quote.elements ? renderText(quote.elements, selfId) : '';
    replyTo = {
      messageId: String(quotedId),
      ...(quotedAuthorId !== undefined && { authorId: String(quotedAuthorId) }),
      ...(quotedText.length > 0 && { text: quotedText }),
    };
  }

  const direct = session.isDirect === true;
  const member = session.event?.member;
  const user = session.event?.user;
  const displayName = nonEmpty(member?.nick) ?? nonEmpty(user?.nick) ?? nonEmpty(user?.name) ?? userId;
  return {
    platform: 'qq',
    guildId: direct ? null : (session.guildId ?? channelId),
    channelId,
    messageId: String(session.messageId ?? ''),
    author: { id: userId, displayName, isBot: false },
    text: renderText(elements, selfId),
    addressing: { mentioned, repliedToBot: quotedAuthorId !== undefined && String(quotedAuthorId) === selfId, direct },
    replyTo,
    // OneBot's `time` is in seconds; the adapter turns it into milliseconds.
    timestamp: new Date(typeof session.timestamp === 'number' && session.timestamp > 0 ? session.timestamp : Date.now()),
  };
}

function nonEmpty(value: string | undefined | null): string | undefined {
  return value && value.trim().length > 0 ? value : undefined;
}

function containsAt(elements: readonly Element[], selfId: string): boolean {
  return elements.some(
    (element) => (element.type === 'at' && String(element.attrs.id) === selfId) || containsAt(element.children, selfId),
  );
}

/** The message as a person reads it: the bot's own @ removed, other @s as @name, media as short placeholders. */
export function renderText(elements: readonly Element[], selfId: string): string {
  return render(elements, selfId)
    .replace(/[^\S\n]*\u0000[^\S\n]*/g, ' ')
    .trim();
}

function render(elements: readonly Element[], selfId: string): string {
  let out = '';
  for (const element of elements) {
    const attrs = element.attrs as Record<string, unknown>;
    switch (element.type) {
      case 'text':
        out += String(attrs.content ?? '');
        break;
      case 'at':
        if (attrs.type === 'all') out += '@全体成员';
        else if (String(attrs.id) !== selfId) out += `@${String(attrs.name || attrs.id)}`;
        // The bot's own @ is dropped: a marker here, and renderText folds it with the spaces around it into one.
        else out += '\u0000';
        break;
      case 'face':
        out += typeof attrs.name === 'string' && attrs.name ? `[${attrs.name}]` : '';
        break;
      case 'img':
      case 'image':
        out += '[image]';
        break;
      case 'audio':
        out += '[voice]';
        break;
      case 'video':
        out += '[video]';
        break;
      case 'file':
        out += '[file]';
        break;
      case 'br':
        out += '\n';
        break;
      default:
        out += render(element.children, selfId);
    }
  }
  return out;
}
