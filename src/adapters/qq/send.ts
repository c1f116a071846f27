/**
 * Sending to QQ through a Koishi bot: where a message goes (a group, quoting and @-ing the asker with the first
 * part, or a private chat), and a file as messages. Model output is always sent as text elements, never parsed as
 * Koishi markup.
 */
import type { Bot, Element, Session } from 'koishi';
import type { IncomingMessage } from '../../core/message.js';
import { splitText } from '../runtime/split-text.js';
import { loadKoishi } from './koishi.js';

/**
 * QQ has no single documented limit: the client accepts about 4,500 bytes of text per message, and long messages get
 * folded ("展开") or, through some OneBot implementations, rejected or cut. 1,500 characters keeps every part well
 * under that (1,500 CJK characters are 4,500 UTF-8 bytes) and still reads as one message.
 */
export const qqMessageLimit = 1500;

/** A file result longer than this many parts is cut: QQ has no portable file upload (command-replies.ts). */
export const maxFileParts = 10;

export type Target =
  | { readonly kind: 'private'; readonly userId: string }
  | { readonly kind: 'group'; readonly channelId: string; readonly quote: { messageId: string; userId: string } | null };

/** Where the answer to a message goes: the group it came from, quoting it, or the asker's private chat. */
export function targetOf(message: IncomingMessage): Target {
  if (message.addressing.direct || message.guildId === null) return { kind: 'private', userId: message.author.id };
  return { kind: 'group', channelId: message.channelId, quote: { messageId: message.messageId, userId: message.author.id } };
}

/** Where the answer to a command goes: as targetOf, for a Koishi session. */
export function sessionTarget(session: Session): Target {
  if (session.isDirect) return { kind: 'private', userId: session.userId! };
  const quote = session.messageId ? { messageId: String(session.messageId), userId: session.userId! } : null;
  return { kind: 'group', channelId: session.channelId!, quote };
}

/** Sends `parts` in order; in a group the first part quotes the asker's message and @s them. */
export async function sendParts(bot: Bot, target: Target, parts: readonly string[]): Promise<void> {
  const { h } = loadKoishi().koishi;
  for (const [index, part] of parts.entries()) {
    if (target.kind === 'private') {
      await bot.sendPrivateMessage(target.userId, [h.text(part)]);
    } else if (index === 0 && target.quote) {
      // h.text keeps model output literal: a string here would be parsed as Koishi element markup.
      const elements: Element[] = [h('quote', { id: target.quote.messageId }), h.at(target.quote.userId), h.text(` ${part}`)];
      await bot.sendMessage(target.channelId, elements);
    } else {
      await bot.sendMessage(target.channelId, [h.text(part)]);
    }
  }
}

/** A file as messages: its name and part number first, then the content, cut to at most maxFileParts parts. */
export function encodeFile(file: { name: string; content: string }, limit: number, truncatedNote: string): string[] {
  const headerRoom = file.name.length + 16;
  const bodies = splitText(file.content, Math.max(2, limit - headerRoom));
  if (bodies.length === 0) return [`📄 ${file.name}`];
  const shown = bodies.length > maxFileParts ? [...bodies.slice(0, maxFileParts - 1), truncatedNote] : bodies;
  return shown.map((body, index) => (shown.length === 1 ? `📄 ${file.name}\n${body}` : `📄 ${file.name} (${index + 1}/${shown.length})\n${body}`));
}
