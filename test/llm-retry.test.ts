import { describe, expect, it } from 'vitest';
import {
  classifyHttpStatus,
  computeRetryDelayMs,
  describeEndpoint,
  findConnectionCode,
  parseRetryAfterSeconds,
  redactSecret,
  retryCall,
  retryStream,
  type RetryContext,
  type RetryEvent,
} from '../src/llm/retry.js';
import { LlmError } from '../src/llm/types.js';
import { createLogger, setLogLevel } from '../src/util/logger.js';
import { failureOf } from './helpers/llm-error.js';
import { collect } from './helpers/streams.js';

setLogLevel('error');

const policy = { retryBaseDelayMs: 100, retryMaxDelayMs: 1000 };

function serverError(status = 500, retryAfterSeconds?: number): LlmError {
  const { kind, retryable } = classifyHttpStatus(status);
  return new LlmError(`HTTP ${status}`, 'test', kind, retryable, status, retryAfterSeconds);
}

function context(overrides: Partial<RetryContext> = {}, events: RetryEvent[] = []): RetryContext {
  return {
    provider: 'test',
    operation: 'chat',
    endpoint: 'http://127.0.0.1:1',
    settings: { timeoutMs: 1000, maxRetries: 2, retryBaseDelayMs: 1, retryMaxDelayMs: 5 },
    logger: createLogger('test:retry'),
    mapError: (error) => new LlmError(String(error), 'test', 'bad-response', false),
    onRetry: (event) => events.push(event),
    random: () => 0.5,
    ...overrides,
  };
}

/** Resolves when the signal fires, rejecting like fetch does. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('AbortError')), { once: true }));
}

describe('computeRetryDelayMs', () => {
  it('grows exponentially with jitter between half and all of the step, capped', () => {
    const error = serverError();
    expect(computeRetryDelayMs(1, policy, error, () => 0)).toBe(50);
    expect(computeRetryDelayMs(1, policy, error, () => 0.999999)).toBe(100);
    expect(computeRetryDelayMs(2, policy, error, () => 0)).toBe(100);
    expect(computeRetryDelayMs(3, policy, error, () => 0)).toBe(200);
    expect(computeRetryDelayMs(10, policy, error, () => 0.999999)).toBe(1000);
    expect(computeRetryDelayMs(10, policy, error, () => 0)).toBe(500);
  });

  it('uses Retry-After when given, capped at the maximum delay, without jitter', () => {
    expect(computeRetryDelayMs(1, policy, serverError(429, 0.25), () => 0.9)).toBe(250);
    expect(computeRetryDelayMs(1, policy, serverError(429, 120), () => 0.9)).toBe(1000);
    expect(computeRetryDelayMs(1, policy, serverError(429, 0), () => 0.9)).toBe(0);
  });
});

describe('parseRetryAfterSeconds', () => {
  const headers = (values: Record<string, string>) => new Headers(values);

  it('reads seconds, fractions, HTTP dates and retry-after-ms', () => {
    expect(parseRetryAfterSeconds(headers({ 'retry-after': '7' }))).toBe(7);
    expect(parseRetryAfterSeconds(headers({ 'retry-after': '0.5' }))).toBe(0.5);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfterSeconds(headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' }), now)).toBe(30);
    expect(parseRetryAfterSeconds(headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' }), now + 60_000)).toBe(0);
    expect(parseRetryAfterSeconds(headers({ 'retry-after-ms': '1500', 'retry-after': '9' }))).toBe(1.5);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfterSeconds(headers({}))).toBeUndefined();
    expect(parseRetryAfterSeconds(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfterSeconds(headers({ 'retry-after': '-3' }))).toBeUndefined();
    expect(parseRetryAfterSeconds(undefined)).toBeUndefined();
  });
});

describe('classifyHttpStatus and friends', () => {
  it('retries 408, 429 and 5xx but no other 4xx', () => {
    expect(classifyHttpStatus(408)).toEqual({ kind: 'timeout', retryable: true });
    expect(classifyHttpStatus(429)).toEqual({ kind: 'rate-limit', retryable: true });
    expect(classifyHttpStatus(500)).toEqual({ kind: 'server', retryable: true });
    expect(classifyHttpStatus(503)).toEqual({ kind: 'server', retryable: true });
    for (const status of [400, 401, 403, 404, 422]) expect(classifyHttpStatus(status)).toEqual({ kind: 'client', retryable: false });
  });

  it('finds network codes in a cause chain', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    expect(findConnectionCode(refused)).toBe('ECONNREFUSED');
    expect(findConnectionCode(new TypeError('terminated'))).toBe('UND_ERR_SOCKET');
    expect(findConnectionCode(new Error('something else'))).toBeUndefined();
  });

  it('redacts a secret and strips credentials from endpoints', () => {
    expect(redactSecret('bad key sk-abcdef given', 'sk-abcdef')).toBe('bad key *** given');
    expect(redactSecret('x'.repeat(900), undefined).length).toBeLessThan(510);
    expect(describeEndpoint(new URL('http://me:pw@host:8000/v1/?token=t#x'))).toBe('http://host:8000/v1');
  });
});

describe('retryCall', () => {
  it('retries retryable failures up to maxRetries, then gives up with the last error', async () => {
    const events: RetryEvent[] = [];
    let calls = 0;
    const error = await failureOf(
      retryCall(context({}, events), async () => {
        calls++;
        throw serverError(502);
      }),
    );
    expect(calls).toBe(3);
    expect(events.map((event) => event.attempt)).toEqual([1, 2]);
    expect(error.status).toBe(502);
  });

  it('returns the first success', async () => {
    let calls = 0;
    const value = await retryCall(context(), async () => {
      calls++;
      if (calls < 3) throw serverError(503);
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry what is not retryable, and maps foreign errors', async () => {
    let calls = 0;
    const error = await failureOf(
      retryCall(context(), async () => {
        calls++;
        throw new Error('parse failure');
      }),
    );
    expect(calls).toBe(1);
    expect(error).toMatchObject({ kind: 'bad-response', retryable: false });
  });

  it('ends a silent attempt with a retryable timeout', async () => {
    let calls = 0;
    const error = await failureOf(
      retryCall(context({ settings: { timeoutMs: 20, maxRetries: 1, retryBaseDelayMs: 1, retryMaxDelayMs: 1 } }), (signal) => {
        calls++;
        return untilAborted(signal);
      }),
    );
    expect(calls).toBe(2);
    expect(error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(error.message).toContain('20 ms');
  });

  it('turns a caller abort into aborted, in flight and during backoff', async () => {
    const inFlight = new AbortController();
    const pending = retryCall(context({ signal: inFlight.signal }), (signal) => untilAborted(signal));
    setTimeout(() => inFlight.abort(), 10);
    expect((await failureOf(pending)).kind).toBe('aborted');

    const backoff = new AbortController();
    let calls = 0;
    const slow = context({
      signal: backoff.signal,
      settings: { timeoutMs: 1000, maxRetries: 5, retryBaseDelayMs: 60_000, retryMaxDelayMs: 60_000 },
      onRetry: () => backoff.abort(),
    });
    const error = await failureOf(
      retryCall(slow, async () => {
        calls++;
        throw serverError(500);
      }),
    );
    expect(error).toMatchObject({ kind: 'aborted', retryable: false });
    expect(calls).toBe(1);
  });
});

describe('retryStream', () => {
  it('retries before the first item', async () => {
    let opens = 0;
    const items = await collect(
      retryStream(context(), async function* () {
        opens++;
        if (opens === 1) throw serverError(500);
        yield 'a';
        yield 'b';
      }),
    );
    expect(items).toEqual(['a', 'b']);
    expect(opens).toBe(2);
  });

  it('never retries once an item was yielded', async () => {
    let opens = 0;
    const seen: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const item of retryStream(context(), async function* () {
          opens++;
          yield 'partial';
          throw serverError(500);
        })) {
          seen.push(item);
        }
      })(),
    );
    expect(seen).toEqual(['partial']);
    expect(opens).toBe(1);
    expect(error.status).toBe(500);
  });

  it('times out the wait for a chunk but not the consumer\'s own pauses', async () => {
    const settings = { timeoutMs: 30, maxRetries: 0, retryBaseDelayMs: 1, retryMaxDelayMs: 1 };
    const slowConsumer: string[] = [];
    for await (const item of retryStream(context({ settings }), async function* () {
      yield 'one';
      yield 'two';
    })) {
      slowConsumer.push(item);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(slowConsumer).toEqual(['one', 'two']);

    const stalled = await failureOf(
      collect(
        retryStream(context({ settings }), async function* (signal) {
          yield 'one';
          await untilAborted(signal);
        }),
      ),
    );
    expect(stalled.kind).toBe('timeout');
  });

  it('keeps a busy stream alive while it reports progress without output', async () => {
    const settings = { timeoutMs: 150, maxRetries: 0, retryBaseDelayMs: 1, retryMaxDelayMs: 1 };
    const items = await collect(
      retryStream(context({ settings }), async function* (_signal, progress) {
        // 300 ms of "thinking" in total, twice the timeout, but never silent for long.
        for (let step = 0; step < 20; step++) {
          await new Promise((resolve) => setTimeout(resolve, 15));
          progress();
        }
        yield 'answer';
      }),
    );
    expect(items).toEqual(['answer']);
  });

  it('closes the inner stream when the consumer breaks out', async () => {
    let closed = false;
    let attemptSignal: AbortSignal | undefined;
    for await (const item of retryStream(context(), async function* (signal) {
      attemptSignal = signal;
      try {
        yield 1;
        yield 2;
      } finally {
        closed = true;
      }
    })) {
      expect(item).toBe(1);
      break;
    }
    expect(closed).toBe(true);
    expect(attemptSignal?.aborted).toBe(true);
  });
});
