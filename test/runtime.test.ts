/**
 * The adapter runtime on its own: the pipeline every platform's messages pass through, driven with a recording engine
 * and an outlet that records what it was asked to send. The platforms' own tests drive it through their real clients.
 */
import { describe, expect, it } from 'vitest';
import type { Outlet } from '../src/adapters/runtime/runtime.js';
import { callsByName } from '../src/adapters/runtime/steps/addressing.js';
import type { EngineReply, IncomingMessage } from '../src/core/message.js';
import { makeCharacter } from './helpers/character.js';
import { createRecordingEngine, createTestRuntime } from './helpers/runtime.js';
import { waitUntil } from './helpers/wait.js';

let sequence = 0;
function message(overrides: Partial<IncomingMessage> & { text: string }): IncomingMessage {
  sequence++;
  return {
    platform: 'test',
    guildId: 'g1',
    channelId: 'c1',
    messageId: `m${sequence}`,
    author: { id: 'u1', displayName: 'Ann' },
    addressing: { mentioned: true, repliedToBot: false, direct: false },
    replyTo: null,
    timestamp: new Date(Date.UTC(2024, 0, 1, 12, 0, sequence)),
    ...overrides,
  };
}

function recordingOutlet(messageLimit = 2000): Outlet & { sent: string[][]; typing: { intervalMs: number; show(): Promise<void> }; shown: number } {
  const outlet = {
    messageLimit,
    sent: [] as string[][],
    shown: 0,
    typing: {
      intervalMs: 5,
      async show() {
        outlet.shown++;
      },
    },
    async send(parts: readonly string[], _reply: EngineReply) {
      outlet.sent.push([...parts]);
    },
  };
  return outlet;
}

/** Resolves after `count` ticks of an interval of `ms`: timers of one period fire in the order they were set. */
function intervalTicks(ms: number, count: number): Promise<void> {
  return new Promise((resolve) => {
    let ticks = 0;
    const timer = setInterval(() => {
      if (++ticks < count) return;
      clearInterval(timer);
      resolve();
    }, ms);
  });
}

const unaddressed = { mentioned: false, repliedToBot: false, direct: false };

describe('the adapter runtime', () => {
  it('answers only what is addressed to the character: a mention, a reply, a private chat; never bots or blank text', async () => {
    const engine = createRecordingEngine((incoming) => `re ${incoming.text}`);
    const runtime = createTestRuntime(engine);
    runtime.start();
    const outlet = recordingOutlet();
    await runtime.receive(message({ text: 'just chatting', addressing: unaddressed }), outlet);
    await runtime.receive(message({ text: 'mention' }), outlet);
    await runtime.receive(message({ text: 'reply', addressing: { ...unaddressed, repliedToBot: true } }), outlet);
    await runtime.receive(message({ text: 'private', guildId: null, addressing: { ...unaddressed, direct: true } }), outlet);
    await runtime.receive(message({ text: 'from a bot', author: { id: 'b', displayName: 'Bot', isBot: true } }), outlet);
    await runtime.receive(message({ text: '   ' }), outlet);
    expect(engine.received.map((incoming) => incoming.text)).toEqual(['mention', 'reply', 'private']);
    expect(outlet.sent).toEqual([['re mention'], ['re reply'], ['re private']]);
    await runtime.stop();
  });

  it("answers the character's name or alias only where name triggers are on (a thread follows its parent)", async () => {
    const engine = createRecordingEngine(() => 'you called?', makeCharacter({ name: 'Haruhi', aliases: ['春日'] }));
    const runtime = createTestRuntime(engine, { nameTriggerChannels: ['c1'] });
    runtime.start();
    const outlet = recordingOutlet();
    await runtime.receive(message({ text: 'Haruhi, come here', channelId: 'c2', addressing: unaddressed }), outlet);
    await runtime.receive(message({ text: 'Haruhiko is someone else', addressing: unaddressed }), outlet);
    await runtime.receive(message({ text: '春日在吗', addressing: unaddressed }), outlet);
    await runtime.receive(message({ text: 'haruhi in a thread', channelId: 't9', parentChannelId: 'c1', addressing: unaddressed }), outlet);
    expect(engine.received.map((incoming) => [incoming.text, incoming.addressing.mentioned])).toEqual([
      ['春日在吗', true],
      ['haruhi in a thread', true],
    ]);
    await runtime.stop();
  });

  it('drops a person’s messages within the cooldown, by the platform’s timestamps, and remembers only recent people', async () => {
    const engine = createRecordingEngine((incoming) => incoming.text);
    const runtime = createTestRuntime(engine, { cooldownMs: 5_000 });
    runtime.start();
    const outlet = recordingOutlet();
    const at = (seconds: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, seconds));
    await runtime.receive(message({ text: 'one', timestamp: at(0) }), outlet);
    await runtime.receive(message({ text: 'two', timestamp: at(2) }), outlet);
    await runtime.receive(message({ text: 'three', author: { id: 'u2', displayName: 'Bo' }, timestamp: at(3) }), outlet);
    await runtime.receive(message({ text: 'four', timestamp: at(6) }), outlet);
    // Thousands of people later, the first ones are still judged by their own last message.
    for (let person = 0; person < 3000; person++) {
      await runtime.receive(message({ text: `p${person}`, author: { id: `p${person}`, displayName: 'P' }, timestamp: at(100 + person) }), outlet);
    }
    await runtime.receive(message({ text: 'five', timestamp: at(3200) }), outlet);
    expect(engine.received.map((incoming) => incoming.text).filter((text) => !text.startsWith('p'))).toEqual(['one', 'three', 'four', 'five']);
    await runtime.stop();
  });

  it('answers one channel in order and other channels meanwhile, resolving the character once per message', async () => {
    const events: string[] = [];
    let releaseFirst!: () => void;
    const firstGate = new Promise<void>((resolve) => (releaseFirst = resolve));
    const engine = createRecordingEngine(async (incoming) => {
      events.push(`start ${incoming.text}`);
      if (incoming.text === 'first') await firstGate;
      events.push(`end ${incoming.text}`);
      return incoming.text;
    });
    let lookups = 0;
    const counted = { ...engine, characterFor: (...args: Parameters<typeof engine.characterFor>) => (lookups++, engine.characterFor(...args)) };
    const runtime = createTestRuntime(counted);
    runtime.start();
    const outlet = recordingOutlet();
    const first = runtime.receive(message({ text: 'first' }), outlet);
    const second = runtime.receive(message({ text: 'second' }), outlet);
    const elsewhere = runtime.receive(message({ text: 'elsewhere', channelId: 'c2' }), outlet);
    await elsewhere;
    expect(events).toEqual(['start first', 'start elsewhere', 'end elsewhere']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(['start first', 'start elsewhere', 'end elsewhere', 'end first', 'start second', 'end second']);
    expect(outlet.sent).toEqual([['elsewhere'], ['first'], ['second']]);
    expect(lookups).toBe(3);
    await runtime.stop();
  });

  it('keeps a message’s place in its channel while it is still being decoded; a decoding that throws is only logged', async () => {
    const engine = createRecordingEngine((incoming) => incoming.text);
    const runtime = createTestRuntime(engine);
    runtime.start();
    const outlet = recordingOutlet();
    let fetched!: () => void;
    const fetching = new Promise<void>((resolve) => (fetched = resolve));
    const first = message({ text: 'first, a reply to an uncached message' });
    const decoding = runtime.receiveWhenDecoded(first, async () => (await fetching, first), outlet);
    const second = runtime.receive(message({ text: 'second' }), outlet);
    const elsewhere = runtime.receive(message({ text: 'elsewhere', channelId: 'c2' }), outlet);
    const broken = runtime.receiveWhenDecoded({ platform: 'test', guildId: 'g1', channelId: 'c3' }, async () => {
      throw new Error('unreadable payload');
    }, outlet);
    await Promise.all([elsewhere, broken]);
    expect(outlet.sent).toEqual([['elsewhere']]);
    fetched();
    await Promise.all([decoding, second]);
    expect(outlet.sent).toEqual([['elsewhere'], ['first, a reply to an uncached message'], ['second']]);
    await runtime.stop();
  });

  it('splits the reply to the outlet’s limit and shows typing until it is sent', async () => {
    const sentences = Array.from({ length: 20 }, (_, index) => `Sentence ${index} is here.`).join(' ');
    const outlet = recordingOutlet(60);
    // The answer comes once the indicator has been renewed.
    const engine = createRecordingEngine(async () => {
      await waitUntil(() => outlet.shown >= 2);
      return sentences;
    });
    const runtime = createTestRuntime(engine);
    runtime.start();
    await runtime.receive(message({ text: 'talk' }), outlet);
    expect(outlet.sent).toHaveLength(1);
    const parts = outlet.sent[0]!;
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.every((part) => part.length <= 60)).toBe(true);
    expect(parts.join(' ')).toBe(sentences);
    expect(outlet.shown).toBeGreaterThan(1);
    const shownWhenSent = outlet.shown;
    // Three periods of the indicator's own interval later, a renewal still running would have counted.
    await intervalTicks(outlet.typing.intervalMs, 3);
    expect(outlet.shown).toBe(shownWhenSent);
    await runtime.stop();
  });

  it('answers a message that failed with the apology, logs why, and goes on with the next', async () => {
    const lines: string[] = [];
    const log = (level: string) => (text: string) => void lines.push(`${level} ${text}`);
    const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
    const engine = createRecordingEngine((incoming) => {
      if (incoming.text === 'boom') throw new Error('engine exploded');
      return 'fine';
    });
    const runtime = createTestRuntime(engine, { logger });
    runtime.start();
    const outlet = recordingOutlet();
    await runtime.receive(message({ text: 'boom' }), outlet);
    await runtime.receive(message({ text: 'next' }), outlet);
    expect(outlet.sent).toEqual([['sorry (engine exploded)'], ['fine']]);
    expect(lines).toContain('error message failed');
    await runtime.stop();
  });

  it('stops taking messages, waits a bounded time for those in flight, then aborts them', async () => {
    let signal: AbortSignal | undefined;
    const engine = createRecordingEngine((_incoming, options) => {
      signal = options.signal;
      return new Promise<string>((_, reject) => options.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    const runtime = createTestRuntime(engine, { stopTimeoutMs: 50 });
    runtime.start();
    const outlet = recordingOutlet();
    const inFlight = runtime.receive(message({ text: 'think forever' }), outlet);
    let commandDone = false;
    void runtime.track(new Promise((resolve) => setTimeout(resolve, 10)).then(() => (commandDone = true)));
    await runtime.stop();
    expect(signal?.aborted).toBe(true);
    expect(commandDone).toBe(true);
    await inFlight;
    expect(runtime.accepting).toBe(false);
    await runtime.receive(message({ text: 'after stop' }), outlet);
    expect(engine.received.map((incoming) => incoming.text)).toEqual(['think forever']);
    expect(outlet.sent).toEqual([]);
  });
});

describe('callsByName', () => {
  it('matches Latin names as whole words, ignoring case, and CJK names anywhere', () => {
    expect(callsByName('hey alice, how are you', ['Alice'])).toBe(true);
    expect(callsByName('Malice aforethought', ['Alice'])).toBe(false);
    expect(callsByName('爱丽丝你好', ['Alice', '爱丽丝'])).toBe(true);
    expect(callsByName('nothing here', ['Alice', '爱丽丝', ' '])).toBe(false);
    expect(callsByName('call C++ now', ['C++'])).toBe(true);
  });
});
