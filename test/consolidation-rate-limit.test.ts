/**
 * The consolidation rate limit (on by default: 60 LLM requests a minute). Time is Vitest's fake clock: the test moves
 * it and watches which requests have started, so nothing races a wall-clock window.
 */
import { setImmediate as realTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConsolidator } from '../src/consolidation/consolidator.js';
import { createRateLimiter } from '../src/consolidation/rate-limit.js';
import { consolidationSettingsSchema } from '../src/consolidation/settings.js';
import type { ChatModel } from '../src/llm/types.js';
import { memorySettingsSchema } from '../src/memory/settings.js';
import { hourMs, openConsolidationFixture, structuredReply, type ConsolidationFixture } from './consolidation-helpers.js';
import type { FakeChatCall } from './fakes/fake-openai-server.js';

let fixture: ConsolidationFixture | null = null;
afterEach(async () => {
  vi.useRealTimers();
  await fixture?.close();
  fixture = null;
});

/** Asks the limiter for a start as `name`; `started` records the starts in order, with the fake time of each. */
function requester(limiter: ReturnType<typeof createRateLimiter>) {
  const started: string[] = [];
  const times: Record<string, number> = {};
  return {
    started,
    times,
    ask(name: string, signal?: AbortSignal): Promise<void> {
      return limiter.acquire(signal).then(() => {
        started.push(name);
        times[name] = Date.now();
      });
    },
  };
}

describe('the consolidation rate limit', () => {
  beforeEach(() => vi.useFakeTimers());

  it('is on by default: 60 requests a minute', () => {
    expect(consolidationSettingsSchema.parse({}).requestsPerMinute).toBe(60);
  });

  it('with N a minute, the (N+1)th request waits until the first one is a minute old, in a sliding window', async () => {
    const start = Date.now();
    const limiter = requester(createRateLimiter(3, () => Date.now()));
    void limiter.ask('a');
    await vi.advanceTimersByTimeAsync(10_000);
    void limiter.ask('b');
    await vi.advanceTimersByTimeAsync(10_000);
    void limiter.ask('c');
    void limiter.ask('d');
    void limiter.ask('e');
    await vi.advanceTimersByTimeAsync(0);
    expect(limiter.started).toEqual(['a', 'b', 'c']);

    // 'd' needs 'a' to leave the window: 60 s after 'a', 40 s from now.
    await vi.advanceTimersByTimeAsync(39_999);
    expect(limiter.started).toEqual(['a', 'b', 'c']);
    await vi.advanceTimersByTimeAsync(1);
    expect(limiter.started).toEqual(['a', 'b', 'c', 'd']);
    // 'e' needs 'b' to leave: 10 s later.
    await vi.advanceTimersByTimeAsync(9_999);
    expect(limiter.started).toEqual(['a', 'b', 'c', 'd']);
    await vi.advanceTimersByTimeAsync(1);
    expect(limiter.started).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(Object.fromEntries(Object.entries(limiter.times).map(([name, at]) => [name, at - start]))).toEqual({
      a: 0, b: 10_000, c: 20_000, d: 60_000, e: 70_000,
    });
  });

  it('lets a waiting request be aborted; the ones behind it keep their order and their turn', async () => {
    const limiter = requester(createRateLimiter(1, () => Date.now()));
    const controller = new AbortController();
    void limiter.ask('first');
    const cancelled = limiter.ask('cancelled', controller.signal);
    const cancelledOutcome = cancelled.then(() => 'started', (error: unknown) => (error as Error).message);
    void limiter.ask('next');
    await vi.advanceTimersByTimeAsync(30_000);
    controller.abort(new Error('stopping'));
    expect(await cancelledOutcome).toBe('stopping');
    await vi.advanceTimersByTimeAsync(29_999);
    expect(limiter.started).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(1);
    expect(limiter.started).toEqual(['first', 'next']);
  });

  it('does not limit at 0', async () => {
    const limiter = requester(createRateLimiter(0, () => Date.now()));
    await Promise.all(Array.from({ length: 500 }, (_, index) => limiter.ask(String(index))));
    expect(limiter.started).toHaveLength(500);
  });
});

describe('the consolidator under a rate limit', () => {
  it('with requestsPerMinute 2, its third LLM request of a run waits until a minute after the first', async () => {
    fixture = await openConsolidationFixture();
    const day = Date.UTC(2024, 4, 21, 2);
    await fixture.say('Alice', 'I live in Tokyo', 'Lovely!', day);
    fixture.base.clock.set(day + 7 * hourMs); // the session closed: summary, portrait, self-concept
    // An in-process model that answers as the fake LLM server would: the limiter's wait is then the only timer of
    // the run, and fake time moves only when the run waits on it.
    const arrivals: number[] = [];
    const chatModel: ChatModel = {
      provider: 'test', modelId: 'structured', endpoint: 'in-process',
      async generate(request) {
        arrivals.push(performance.now());
        return { text: structuredReply({ messages: request.messages } as FakeChatCall), finishReason: 'stop' };
      },
      stream() {
        throw new Error('consolidation does not stream');
      },
    };
    const consolidator = createConsolidator({
      db: fixture.base.db, memory: fixture.memory, store: fixture.base.conversations, chatModel, characters: fixture.characters,
      settings: consolidationSettingsSchema.parse({ timezone: 'Asia/Shanghai', requestsPerMinute: 2, concurrency: 1 }),
      memorySettings: memorySettingsSchema.parse({ timezone: 'Asia/Shanghai' }), clock: fixture.base.clock,
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const start = performance.now();
    let finished = false;
    const run = consolidator.runDue().finally(() => (finished = true));
    while (!finished) {
      // Work in flight (the database, the text search thread) is given real turns of the event loop; once the run
      // waits on the limiter, fake time jumps to the end of that wait.
      if (vi.getTimerCount() > 0) await vi.advanceTimersToNextTimerAsync();
      else await realTurn();
    }
    expect(await run).toMatchObject({ done: 4, failed: 0 }); // and the forgetting pass, which asks no model
    expect(arrivals.map((at) => at - start)).toEqual([0, 0, 60_000]);
  });
});
