import { Ollama } from 'ollama';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChatModel } from '../src/llm/create-chat-model.js';
import { createOllamaChatModel, type OllamaChatSettings } from '../src/llm/ollama/ollama-chat-model.js';
import { createOllamaEmbedder } from '../src/llm/ollama/ollama-embedder.js';
import type { RetryEvent } from '../src/llm/retry.js';
import { setLogLevel } from '../src/util/logger.js';
import { startFakeOllama, type FakeOllama } from './fakes/fake-ollama-server.js';
import { failureOf } from './helpers/llm-error.js';
import { closedPort } from './helpers/ports.js';
import { collect, readTextInto } from './helpers/streams.js';

let fake: FakeOllama;

beforeEach(async () => {
  // Retries and give-ups are logged at warn on purpose; these tests provoke many of them.
  setLogLevel('error');
  fake = await startFakeOllama();
});
afterEach(async () => {
  await fake.close();
});

function settings(overrides: Partial<OllamaChatSettings> = {}): OllamaChatSettings {
  return {
    model: 'fake-model',
    host: fake.url,
    timeoutMs: 2000,
    maxRetries: 2,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...overrides,
  };
}

describe('Ollama chat', () => {
  it('generates without streaming and maps the parameters into options', async () => {
    const model = createOllamaChatModel(settings());
    const result = await model.generate({
      messages: [
        { role: 'system', content: 'You are Juniper.' },
        { role: 'user', content: '今天天气怎么样' },
      ],
      maxTokens: 32,
      temperature: 0.2,
      topP: 0.8,
      stop: ['</s>'],
      json: true,
    });
    expect(result).toEqual({
      text: 'echo: 今天天气怎么样',
      finishReason: 'stop',
      usage: { promptTokens: 'You are Juniper.'.length + '今天天气怎么样'.length, completionTokens: 4 },
    });
    const [request] = fake.chatRequests();
    expect(request?.body).toEqual({
      model: 'fake-model',
      messages: [
        { role: 'system', content: 'You are Juniper.' },
        { role: 'user', content: '今天天气怎么样' },
      ],
      stream: false,
      format: 'json',
      options: { num_predict: 32, temperature: 0.2, top_p: 0.8, stop: ['</s>'] },
    });
    expect(model.provider).toBe('ollama');
    expect(model.endpoint).toBe(fake.url);
  });

  it('streams NDJSON as text deltas, then one finish part', async () => {
    const model = createOllamaChatModel(settings());
    const parts = await collect(model.stream({ messages: [{ role: 'user', content: 'stream please' }] }));
    const deltas = parts.filter((part) => part.type === 'text-delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((part) => part.text).join('')).toBe('echo: stream please');
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { promptTokens: 'stream please'.length, completionTokens: deltas.length },
    });
    const body = fake.chatRequests()[0]?.body;
    expect(body.stream).toBe(true);
    expect(body.format).toBeUndefined();
    expect(body.options).toBeUndefined();
  });

  it('reports the done reason', async () => {
    await fake.close();
    fake = await startFakeOllama({ reply: () => ({ chunks: ['half'], doneReason: 'length' }) });
    const model = createOllamaChatModel(settings());
    const parts = await collect(model.stream({ messages: [{ role: 'user', content: 'x' }] }));
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length' });
  });

  it('retries a 503 and then succeeds', async () => {
    const retries: RetryEvent[] = [];
    const model = createOllamaChatModel(settings(), { onRetry: (event) => retries.push(event) });
    fake.failNext({ status: 503, message: 'server busy' });
    const parts = await collect(model.stream({ messages: [{ role: 'user', content: 'busy?' }] }));
    expect(parts.at(-1)).toMatchObject({ type: 'finish' });
    expect(fake.chatRequests()).toHaveLength(2);
    expect(retries[0]?.error).toMatchObject({ provider: 'ollama', kind: 'server', status: 503 });
    expect(retries[0]?.error.message).toContain('server busy');
  });

  it('honours Retry-After on a 429, capped at retryMaxDelayMs', async () => {
    const retries: RetryEvent[] = [];
    const model = createOllamaChatModel(settings({ retryMaxDelayMs: 40 }), { onRetry: (event) => retries.push(event) });
    fake.failNext({ status: 429, retryAfter: '0.01' }, { status: 429, retryAfter: '30' });
    await model.generate({ messages: [{ role: 'user', content: 'x' }] });
    expect(retries.map((event) => event.delayMs)).toEqual([10, 40]);
    expect(retries[1]?.error).toMatchObject({ kind: 'rate-limit', status: 429, retryAfterSeconds: 30 });
  });

  it('reads a proxy\'s HTML error page as the error text, without the SDK printing to the console', async () => {
    const printed: unknown[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args));
    try {
      const model = createOllamaChatModel(settings({ maxRetries: 0 }));
      fake.failNext({ status: 502, html: '<h1>502 Bad Gateway</h1>' });
      const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }] }));
      expect(error).toMatchObject({ kind: 'server', status: 502, retryable: true });
      expect(error.message).toContain('502 Bad Gateway');
      expect(printed).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  it('does not retry a missing model (404)', async () => {
    const model = createOllamaChatModel(settings());
    fake.failNext({ status: 404, message: "model 'fake-model' not found" });
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toMatchObject({ kind: 'client', status: 404, retryable: false });
    expect(error.message).toContain('not found');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('times out each attempt and raises a timeout error after the retries', async () => {
    const model = createOllamaChatModel(settings({ timeoutMs: 60, maxRetries: 1 }));
    fake.failNext({ delayMs: 5000 }, { delayMs: 5000 });
    const error = await failureOf(collect(model.stream({ messages: [{ role: 'user', content: 'x' }] })));
    expect(error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('times out a stalled stream even after the response began', async () => {
    // Long enough for the first chunk on a busy machine; the scripted stall is far longer.
    const model = createOllamaChatModel(settings({ timeoutMs: 1000, maxRetries: 0 }));
    fake.chunkDelayMs = 10_000;
    const seen: string[] = [];
    const error = await failureOf(readTextInto(model.stream({ messages: [{ role: 'user', content: 'x' }] }), seen));
    expect(seen).toHaveLength(1);
    expect(error.kind).toBe('timeout');
  });

  it('raises a connection error for a closed port after bounded retries', async () => {
    const port = await closedPort();
    const retries: RetryEvent[] = [];
    const model = createOllamaChatModel(settings({ host: `127.0.0.1:${port}` }), {
      onRetry: (event) => retries.push(event),
    });
    expect(model.endpoint).toBe(`http://127.0.0.1:${port}`);
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toMatchObject({ kind: 'connection', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
    expect(retries).toHaveLength(2);
  });

  it('retries a dropped connection before output, but not after', async () => {
    const model = createOllamaChatModel(settings());
    fake.failNext({ drop: true });
    expect((await model.generate({ messages: [{ role: 'user', content: 'x' }] })).text).toBe('echo: x');
    expect(fake.chatRequests()).toHaveLength(2);

    fake.failNext({ dropAfterChunks: 2 });
    const seen: string[] = [];
    const error = await failureOf(readTextInto(model.stream({ messages: [{ role: 'user', content: 'a long enough question' }] }), seen));
    expect(seen).toHaveLength(2);
    expect(error.kind).toBe('connection');
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('aborts mid-stream and during backoff', async () => {
    const model = createOllamaChatModel(settings());
    fake.chunkDelayMs = 30;
    const controller = new AbortController();
    const error = await failureOf(
      (async () => {
        const stream = model.stream({ messages: [{ role: 'user', content: 'y'.repeat(60) }], signal: controller.signal });
        for await (const part of stream) if (part.type === 'text-delta') controller.abort();
      })(),
    );
    expect(error).toMatchObject({ kind: 'aborted', retryable: false });
    expect(fake.chatRequests()).toHaveLength(1);

    const backoff = new AbortController();
    const slowRetries = createOllamaChatModel(settings({ retryBaseDelayMs: 10_000, retryMaxDelayMs: 10_000 }), {
      onRetry: () => setTimeout(() => backoff.abort(), 10),
    });
    fake.failNext({ status: 500 });
    const backoffError = await failureOf(
      slowRetries.generate({ messages: [{ role: 'user', content: 'x' }], signal: backoff.signal }),
    );
    expect(backoffError.kind).toBe('aborted');
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('stops the request when the consumer breaks out of the stream', async () => {
    const model = createOllamaChatModel(settings());
    fake.chunkDelayMs = 20;
    for await (const part of model.stream({ messages: [{ role: 'user', content: 'z'.repeat(60) }] })) {
      if (part.type === 'text-delta') break;
    }
    // The next call still works: nothing was left hanging in a shared client.
    expect((await model.generate({ messages: [{ role: 'user', content: 'after' }] })).text).toBe('echo: after');
  });

  it('is what createChatModel builds for provider ollama', async () => {
    const model = createChatModel({
      provider: 'ollama',
      model: 'fake-model',
      host: fake.url,
      timeoutMs: 2000,
      maxRetries: 0,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
    });
    expect(model.provider).toBe('ollama');
    expect((await model.generate({ messages: [{ role: 'user', content: 'factory' }] })).text).toBe('echo: factory');
  });
});

describe('Ollama embeddings', () => {
  it('learns the dimension, batches, keeps order and normalizes', async () => {
    const embedder = await createOllamaEmbedder({ ...settings(), model: 'nomic-embed-text', batchSize: 2 });
    expect(embedder.id).toBe('ollama:nomic-embed-text');
    expect(embedder.dimension).toBe(8);
    const vectors = await embedder.embed(['one', 'two', 'three']);
    const requests = fake.requests.filter((request) => request.path === '/api/embed');
    expect(requests.map((request) => request.body.input)).toEqual([['dimension probe'], ['one', 'two'], ['three']]);
    expect(requests[1]?.body.model).toBe('nomic-embed-text');
    for (const vector of vectors) expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    const [alone] = await embedder.embed(['two']);
    expect([...vectors[1]!]).toEqual([...alone!]);
  });

  it('retries a 500 and passes the purpose prefix', async () => {
    const embedder = await createOllamaEmbedder({
      ...settings(),
      model: 'nomic-embed-text',
      dimension: 8,
      queryPrefix: 'search_query: ',
    });
    fake.failNext({ status: 500 });
    await embedder.embed(['cats'], { purpose: 'query' });
    expect(fake.requests.map((request) => request.body.input)).toEqual([['search_query: cats'], ['search_query: cats']]);
  });

  it('serves tags and version to the real client', async () => {
    const client = new Ollama({ host: fake.url });
    expect((await client.list()).models.map((entry) => entry.name)).toEqual(['fake-model:latest']);
    expect((await client.version()).version).toBe('0.12.6');
  });
});
