/**
 * Only messages meant for the character go on: an @mention, a reply to one of its messages, a private chat — or,
 * in the channels configured for it, its name or an alias said anywhere in the message. Messages from bots and
 * blank ones never do.
 */
import { isAddressed, type IncomingMessage } from '../../../core/message.js';
import type { Step } from '../pipeline.js';

export interface AddressingOptions {
  /** Channel ids (a thread follows its parent; '*' = every channel) where saying the character's name addresses it. */
  readonly nameTriggerChannels?: readonly string[];
}

export function requireAddressed(options: AddressingOptions = {}): Step {
  const channels = options.nameTriggerChannels ?? [];
  const namesCall = (message: IncomingMessage) =>
    channels.includes('*') ||
    channels.includes(message.channelId) ||
    (message.parentChannelId !== undefined && message.parentChannelId !== null && channels.includes(message.parentChannelId));

  return async (context, next) => {
    const { message } = context;
    if (message.author.isBot || !message.text.trim()) return;
    if (isAddressed(message)) return next();
    if (!namesCall(message)) return;
    const character = context.character;
    if (!callsByName(message.text, [character.name, ...character.aliases])) return;
    context.message = { ...message, addressing: { ...message.addressing, mentioned: true } };
    return next();
  };
}

/**
 * A name calls the character when it appears in the text, ignoring case. Where the name starts or ends with a Latin
 * letter or digit it must stand as a word ("Ann" does not call in "Annual"); Chinese has no spaces, so a CJK name
 * matches anywhere.
 */
export function callsByName(text: string, names: readonly string[]): boolean {
  for (const raw of names) {
    const name = raw.trim();
    if (name.length === 0) continue;
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const before = /^[A-Za-z0-9_]/.test(name) ? '(?<![A-Za-z0-9_])' : '';
    const after = /[A-Za-z0-9_]$/.test(name) ? '(?![A-Za-z0-9_])' : '';
    if (new RegExp(`${before}${escaped}${after}`, 'iu').test(text)) return true;
  }
  return false;
}
