/**
 * The shape of the adapter runtime's pipeline: a message's context and the steps it passes through. A step is
 * grammY's middleware, `(context, next)`: it may act before and after the rest of the pipeline, or end the message
 * there by not calling `next`. Steps talk to each other through the context.
 */
import type { Character } from '../../characters/character.js';
import type { EngineReply, IncomingMessage } from '../../core/message.js';

/** How an adapter delivers to the channel a message came from. */
export interface Outlet {
  /** UTF-16 code units one platform message may hold (replies are split to fit); Infinity: no limit. */
  readonly messageLimit: number;
  /** Sends a reply's parts in order (the adapter may quote the asker with the first). */
  send(parts: readonly string[], reply: EngineReply): Promise<void>;
  /** Where the platform shows that someone is typing: shown once generation starts, renewed until the reply is sent. */
  readonly typing?: { readonly intervalMs: number; show(): Promise<void> };
}

export interface MessageContext {
  /** The message as decoded, or as a step changed it (addressed by name, say). */
  message: IncomingMessage;
  readonly outlet: Outlet;
  /** Aborted when the runtime stops with this message still in flight. */
  readonly signal: AbortSignal;
  /** Who speaks in the message's channel: resolved once, on first use. */
  readonly character: Character;
  /** Set by the answer step. */
  reply: EngineReply | null;
  /** Set by the typing step for the answer step: called when generation starts. */
  onTyping: (() => void) | null;
}

export type Step = (context: MessageContext, next: () => Promise<void>) => Promise<void>;

/** One step made of several, run in order; a step that does not call `next` ends the message there. */
export function compose(steps: readonly Step[]): (context: MessageContext) => Promise<void> {
  return (context) => {
    const run = (index: number): Promise<void> => {
      const step = steps[index];
      if (!step) return Promise.resolve();
      let called = false;
      return step(context, () => {
        if (called) return Promise.reject(new Error(`pipeline step ${index} called next() twice`));
        called = true;
        return run(index + 1);
      });
    };
    return run(0);
  };
}

/** Where a message was said: enough to order it among its channel's messages. */
export type ChannelAddress = Pick<IncomingMessage, 'platform' | 'guildId' | 'channelId'>;

/** The key messages are ordered by: one channel of one platform. */
export function channelKey(channel: ChannelAddress): string {
  return `${channel.platform}\u0000${channel.guildId ?? ''}\u0000${channel.channelId}`;
}
