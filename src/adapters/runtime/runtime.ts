/**
 * The adapter runtime: what every platform (terminal, Discord, QQ) does with a message once its adapter decoded it,
 * written once. An adapter hands each decoded message to `receive` with an Outlet (how to deliver to that channel);
 * the runtime runs it through one pipeline of small steps, in this order:
 *
 *   requireAddressed   only messages meant for the character (mention, reply, private chat, its name where enabled)
 *   cooldown           a person's messages closer together than the platform's cooldown are dropped
 *   inChannelOrder     from here on, one channel's messages run one after another, in the order they came
 *   showTyping         "typing…" while the reply is generated, where the platform shows it
 *   answerWith         the engine answers, as the channel's character (resolved once per message)
 *   deliver            the reply, split to the platform's message limit, goes out through the outlet
 *
 * A new behaviour for every platform (streaming, bursts, quotas, chime-in) is one more step in that list. The
 * runtime also owns what surrounds the pipeline: tracking what is in flight (commands too), one error boundary per
 * message, and a bounded stop. One runtime serves one adapter; adapters keep decoding, encoding, sending, command
 * registration and their connection.
 */
import type { Engine } from '../../engine/engine.js';
import type { IncomingMessage } from '../../core/message.js';
import { OmoideError } from '../../core/errors.js';
import { createKeyedQueue } from '../../util/keyed-queue.js';
import { createLogger, type Logger } from '../../util/logger.js';
import { channelKey, compose, type ChannelAddress, type MessageContext, type Outlet } from './pipeline.js';
import { answerWith } from './steps/answer.js';
import { inChannelOrder } from './steps/channel-order.js';
import { cooldown } from './steps/cooldown.js';
import { deliver } from './steps/deliver.js';
import { requireAddressed } from './steps/addressing.js';
import { showTyping } from './steps/typing.js';

export type { ChannelAddress, Outlet } from './pipeline.js';

export interface MessageRuntimeOptions {
  readonly engine: Pick<Engine, 'characterFor' | 'answer' | 'apology'>;
  /** A person's addressed messages closer together than this (by the platform's timestamps) are dropped. 0: off. */
  readonly cooldownMs: number;
  /** Channel ids (a thread follows its parent; '*' = every channel) where saying the character's name addresses it. */
  readonly nameTriggerChannels?: readonly string[];
  /** How long stop() waits for messages and commands in flight before aborting them (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** How long stop() then waits for the aborted work to wind down (default 2 s): the database closes after stop(). */
  readonly abortGraceMs?: number;
  readonly logger?: Logger;
}

export interface RuntimeStats {
  /** messages and commands being handled */
  readonly inFlight: number;
  /** channels with a message waiting to be decoded or answered */
  readonly channelsQueued: number;
  /** people whose last accepted message time is kept for the cooldown */
  readonly cooldownPeople: number;
}

export interface MessageRuntime {
  /**
   * Takes one decoded message through the pipeline. Call in the order messages arrive; the promise settles when
   * the message was answered or dropped, and never rejects (failures are logged).
   */
  receive(message: IncomingMessage, outlet: Outlet): Promise<void>;
  /**
   * For a message the runtime decodes: its place in its channel's order is taken now, and a decoding that throws is
   * logged like any failure. An adapter that may have to fetch something to decode (a Discord reply whose quoted
   * message the gateway left out) keeps the message's order this way; the messages after it wait for its decoding.
   */
  receiveWhenDecoded(channel: ChannelAddress, decode: () => Promise<IncomingMessage | null>, outlet: Outlet): Promise<void>;
  /** Work outside the pipeline that stop() must wait for, such as answering a command. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Whether messages are taken: between start() and stop(). */
  readonly accepting: boolean;
  /** What the runtime holds in memory now: work in flight, channels with queued messages, people in cooldown. */
  stats(): RuntimeStats;
  start(): void;
  /** Stops taking messages, waits up to the stop timeout for what is in flight, then aborts what is still running. */
  stop(): Promise<void>;
}

export function createMessageRuntime(options: MessageRuntimeOptions): MessageRuntime {
  const { engine } = options;
  const logger = options.logger ?? createLogger('runtime');
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  if (!Number.isFinite(options.cooldownMs) || options.cooldownMs < 0) {
    throw new OmoideError(`runtime: cooldownMs must be a number of milliseconds >= 0, got ${options.cooldownMs}`);
  }
  const abortGraceMs = options.abortGraceMs ?? 2_000;
  // Arrival order per channel, kept while a message is still being decoded; then the channel's answering order.
  const arrivals = createKeyedQueue();
  const channels = createKeyedQueue();
  const cooldownStep = cooldown(options.cooldownMs, logger);
  const run = compose([
    requireAddressed(options.nameTriggerChannels ? { nameTriggerChannels: options.nameTriggerChannels } : {}),
    cooldownStep,
    inChannelOrder(channels),
    showTyping(logger),
    answerWith(engine, logger),
    deliver(logger),
  ]);
  const inFlight = new Set<Promise<unknown>>();
  let accepting = false;
  let abort = new AbortController();

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    void work.then(
      () => inFlight.delete(work),
      () => inFlight.delete(work),
    );
    return work;
  }

  function contextOf(message: IncomingMessage, outlet: Outlet): MessageContext {
    let character: MessageContext['character'] | undefined;
    const context: MessageContext = {
      message,
      outlet,
      signal: abort.signal,
      get character() {
        character ??= engine.characterFor(context.message.platform, context.message.guildId, context.message.channelId);
        return character;
      },
      reply: null,
      onTyping: null,
    };
    return context;
  }

  /** The pipeline for one message. Its steps up to the channel's queue run at once, so the queue keeps their order. */
  function start(message: IncomingMessage, outlet: Outlet): Promise<void> {
    const context = contextOf(message, outlet);
    return run(context).catch((error: unknown) => {
      if (context.signal.aborted) logger.debug('reply abandoned: stopping', { channel: message.channelId });
      else logger.error('message failed', { platform: message.platform, channel: message.channelId, message: message.messageId, error });
    });
  }

  /** Starts a message's pipeline once every message of its channel that arrived before it has started its own. */
  function inArrivalOrder(channel: ChannelAddress, decode: () => Promise<IncomingMessage | null> | IncomingMessage | null, outlet: Outlet): Promise<void> {
    let started: Promise<void> = Promise.resolve();
    const arrived = arrivals.run(channelKey(channel), async () => {
      const message = await decode();
      if (message) started = start(message, outlet);
    });
    return track(
      arrived.then(
        () => started,
        (error: unknown) => logger.error('could not decode a message', { platform: channel.platform, channel: channel.channelId, error }),
      ),
    );
  }

  return {
    receive(message, outlet) {
      if (!accepting) return Promise.resolve();
      return inArrivalOrder(message, () => message, outlet);
    },
    receiveWhenDecoded(channel, decode, outlet) {
      if (!accepting) return Promise.resolve();
      return inArrivalOrder(channel, decode, outlet);
    },
    track,
    get accepting() {
      return accepting;
    },
    stats() {
      return { inFlight: inFlight.size, channelsQueued: Math.max(arrivals.size, channels.size), cooldownPeople: cooldownStep.remembered() };
    },
    start() {
      if (accepting) return;
      abort = new AbortController();
      accepting = true;
    },
    async stop() {
      accepting = false;
      if (inFlight.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), stopTimeoutMs);
      });
      const finished = Promise.allSettled([...inFlight]).then(() => false);
      if (await Promise.race([finished, timedOut])) {
        logger.warn('stopping with replies still running', { count: inFlight.size });
        abort.abort(new OmoideError('stopped'));
        // Aborted work ends quickly (generation is cancelled, nothing is sent); let it, before the database closes.
        const settled = Promise.allSettled([...inFlight]);
        await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, abortGraceMs).unref())]);
      }
      clearTimeout(timer);
    },
  };
}
