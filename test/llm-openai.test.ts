import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createChatModel, type LlmSettings } from '../src/llm/create-chat-model.js';
import { createOpenAiChatModel, type OpenAiChatSettings } from '../src/llm/openai/openai-chat-model.js';
import { createOpenAiEmbedder } from '../src/llm/openai/openai-embedder.js';
import type { RetryEvent } from '../src/llm/retry.js';
import { logToFile, logToStderr } from '../src/util/logger.js';
import { startFakeOpenAi, type FakeOpenAi } from './fakes/fake-openai-server.js';
import { failureOf } from './helpers/llm-error.js';
import { closedPort } from './helpers/ports.js';
import { collect, readTextInto } from './helpers/streams.js';

const apiKey = 'sk-test-super-secret-key-1234';
let fake: FakeOpenAi;
let logDirectory: string;
let logFile: string;

beforeAll(() => {
  logDirectory = mkdtempSync(join(tmpdir(), 'omoide-llm-openai-'));
  logFile = join(logDirectory, 'log.txt');
  logToFile(logFile);
});
afterAll(() => {
  logToStderr();
  rmSync(logDirectory, { recursive: true, force: true });
});
beforeEach(async () => {
  fake = await startFakeOpenAi();
});
afterEach(async () => {
  await fake.close();
});

function settings(overrides: Partial<OpenAiChatSettings> = {}): OpenAiChatSettings {
  return {
    model: 'fake-model',
    baseURL: fake.url,
    apiKey,
    timeoutMs: 2000,
    maxRetries: 2,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...overrides,
  };
}

const conversation = [
  { role: 'system', content: 'You are Juniper.' },
  { role: 'user', content: '你好, Juniper' },
] as const;

describe('OpenAI-compatible chat', () => {
  it('generates without streaming and sends exactly the messages and parameters', async () => {
    const model = createOpenAiChatModel(settings());
    const result = await model.generate({
      messages: conversation,
      maxTokens: 64,
      temperature: 0.7,
      topP: 0.9,
      stop: ['\nUser:'],
      json: true,
    });
    expect(result.text).toBe('echo: 你好, Juniper');
    expect(result.finishReason).toBe('stop');
    expect(result.usage?.completionTokens).toBeGreaterThan(0);

    const [request] = fake.chatRequests();
    expect(request?.body).toMatchObject({
      model: 'fake-model',
      messages: [
        { role: 'system', content: 'You are Juniper.' },
        { role: 'user', content: '你好, Juniper' },
      ],
      max_tokens: 64,
      temperature: 0.7,
      top_p: 0.9,
      stop: ['\nUser:'],
      response_format: { type: 'json_object' },
      stream: false,
    });
    expect(request?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(model.provider).toBe('openai');
    expect(model.modelId).toBe('fake-model');
    expect(model.endpoint).toBe(fake.url);
  });

  it('streams text deltas, then one finish part with usage', async () => {
    const model = createOpenAiChatModel(settings());
    const parts = await collect(model.stream({ messages: [{ role: 'user', content: 'tell me a long story' }] }));
    const deltas = parts.filter((part) => part.type === 'text-delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((part) => part.text).join('')).toBe('echo: tell me a long story');
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { promptTokens: 'tell me a long story'.length, completionTokens: deltas.length },
    });
    expect(parts.filter((part) => part.type === 'finish')).toHaveLength(1);
    expect(fake.chatRequests()[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(fake.chatRequests()[0]?.body.response_format).toBeUndefined();
  });

  it('reports the finish reason the server gives', async () => {
    await fake.close();
    fake = await startFakeOpenAi({ reply: () => ({ chunks: ['cut ', 'sho'], finishReason: 'length' }) });
    const model = createOpenAiChatModel(settings());
    const parts = await collect(model.stream({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length' });
    expect((await model.generate({ messages: [{ role: 'user', content: 'hi' }] })).finishReason).toBe('length');
  });

  it('sends a placeholder key to local servers when none is configured', async () => {
    const model = createOpenAiChatModel(settings({ apiKey: undefined }));
    await model.generate({ messages: [{ role: 'user', content: 'hi' }] });
    expect(fake.chatRequests()[0]?.headers.authorization).toBe('Bearer not-needed');
  });

  it('retries a 500 and then succeeds', async () => {
    const retries: RetryEvent[] = [];
    const model = createOpenAiChatModel(settings(), { onRetry: (event) => retries.push(event) });
    fake.failNext({ status: 500 });
    const result = await model.generate({ messages: [{ role: 'user', content: 'again' }] });
    expect(result.text).toBe('echo: again');
    expect(fake.chatRequests()).toHaveLength(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.error).toMatchObject({ kind: 'server', status: 500, retryable: true });
  });

  it('waits as long as Retry-After asks on a 429, capped at retryMaxDelayMs', async () => {
    const retries: RetryEvent[] = [];
    const model = createOpenAiChatModel(settings({ retryMaxDelayMs: 100 }), { onRetry: (event) => retries.push(event) });
    fake.failNext({ status: 429, retryAfter: '0.03' }, { status: 429, retryAfter: '60' });
    const result = await model.generate({ messages: [{ role: 'user', content: 'later' }] });
    expect(result.text).toBe('echo: later');
    expect(retries.map((event) => event.delayMs)).toEqual([30, 100]);
    expect(retries[0]?.error).toMatchObject({ kind: 'rate-limit', status: 429, retryAfterSeconds: 0.03 });
    expect(retries[1]?.error.retryAfterSeconds).toBe(60);
  });

  it('gives up on a 429 after the bounded retries with a rate-limit error', async () => {
    const model = createOpenAiChatModel(settings({ maxRetries: 1 }));
    fake.failNext({ status: 429, retryAfter: '0' }, { status: 429, retryAfter: '0' }, { status: 429 });
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toMatchObject({ provider: 'openai', kind: 'rate-limit', status: 429, retryable: true });
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('does not retry a 400', async () => {
    const model = createOpenAiChatModel(settings());
    fake.failNext({ status: 400, message: 'messages: bad shape' });
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toMatchObject({ kind: 'client', status: 400, retryable: false });
    expect(error.message).toContain('messages: bad shape');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('times out a silent server, retries, then raises a timeout error', async () => {
    const model = createOpenAiChatModel(settings({ timeoutMs: 60, maxRetries: 1 }));
    fake.failNext({ delayMs: 5000 }, { delayMs: 5000 });
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'slow' }] }));
    expect(error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('recovers when only the first attempt times out', async () => {
    // Long enough for a healthy answer on a busy machine; the scripted silence is far longer.
    const model = createOpenAiChatModel(settings({ timeoutMs: 1000 }));
    fake.failNext({ delayMs: 10_000 });
    const parts = await collect(model.stream({ messages: [{ role: 'user', content: 'slow then fine' }] }));
    expect(parts.at(-1)).toMatchObject({ type: 'finish' });
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('times out a stream that stalls before its first chunk', async () => {
    const model = createOpenAiChatModel(settings({ timeoutMs: 60, maxRetries: 0 }));
    fake.chunkDelayMs = 5000;
    const error = await failureOf(collect(model.stream({ messages: [{ role: 'user', content: 'stall' }] })));
    // The role-only first chunk carries no text, so the stall is still before any output.
    expect(error.kind).toBe('timeout');
  });

  it('raises a connection error for a closed port after bounded retries', async () => {
    const port = await closedPort();
    const retries: RetryEvent[] = [];
    const model = createOpenAiChatModel(settings({ baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 2 }), {
      onRetry: (event) => retries.push(event),
    });
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'anyone?' }] }));
    expect(error).toMatchObject({ provider: 'openai', kind: 'connection', retryable: true });
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(retries).toHaveLength(2);
  });

  it('retries a connection dropped before any output', async () => {
    const model = createOpenAiChatModel(settings());
    fake.failNext({ drop: true });
    const parts = await collect(model.stream({ messages: [{ role: 'user', content: 'drop' }] }));
    expect(parts.at(-1)).toMatchObject({ type: 'finish' });
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('never retries a stream that already yielded text', async () => {
    const model = createOpenAiChatModel(settings());
    fake.failNext({ dropAfterChunks: 3 });
    const seen: string[] = [];
    const error = await failureOf(readTextInto(model.stream({ messages: [{ role: 'user', content: 'a fairly long question' }] }), seen));
    expect(seen.length).toBeGreaterThan(0);
    expect(error.kind).toBe('connection');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('aborts mid-stream with an aborted error', async () => {
    const model = createOpenAiChatModel(settings());
    fake.chunkDelayMs = 30;
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await failureOf(
      (async () => {
        const stream = model.stream({ messages: [{ role: 'user', content: 'x'.repeat(80) }], signal: controller.signal });
        for await (const part of stream) {
          if (part.type === 'text-delta') {
            seen.push(part.text);
            controller.abort();
          }
        }
      })(),
    );
    expect(error).toMatchObject({ kind: 'aborted', retryable: false });
    expect(seen).toHaveLength(1);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('aborts during the backoff wait', async () => {
    const controller = new AbortController();
    const model = createOpenAiChatModel(settings({ retryBaseDelayMs: 10_000, retryMaxDelayMs: 10_000 }), {
      onRetry: () => setTimeout(() => controller.abort(), 10),
    });
    fake.failNext({ status: 503 });
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }], signal: controller.signal }));
    expect(error.kind).toBe('aborted');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('refuses to start when the signal is already aborted', async () => {
    const model = createOpenAiChatModel(settings());
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }], signal: AbortSignal.abort() }));
    expect(error.kind).toBe('aborted');
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('keeps the API key out of error messages, causes and logs even when the server echoes it', async () => {
    const model = createOpenAiChatModel(settings());
    fake.failNext({ status: 401, message: `Incorrect API key provided: ${apiKey}` });
    const error = await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toMatchObject({ kind: 'client', status: 401, retryable: false });
    expect(error.message).not.toContain(apiKey);
    expect(error.message).toContain('***');
    expect(String((error.cause as Error | undefined)?.message)).not.toContain(apiKey);
    fake.failNext({ status: 500, message: `upstream said ${apiKey}` }, { status: 500 }, { status: 500 });
    await failureOf(model.generate({ messages: [{ role: 'user', content: 'x' }] }));
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('[llm:openai]');
    expect(log).not.toContain(apiKey);
  });

  it('describes the endpoint without credentials or query', () => {
    const model = createOpenAiChatModel(settings({ baseURL: 'https://user:pw@api.example.com/v1?api-key=zzz' }));
    expect(model.endpoint).toBe('https://api.example.com/v1');
  });

  it('is what createChatModel builds for provider openai', async () => {
    const llm: LlmSettings = {
      provider: 'openai',
      model: 'fake-model',
      baseURL: fake.url,
      apiKey,
      timeoutMs: 2000,
      maxRetries: 0,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
    };
    const model = createChatModel(llm);
    expect((await model.generate({ messages: [{ role: 'user', content: 'factory' }] })).text).toBe('echo: factory');
    expect(model.provider).toBe('openai');
  });
});

describe('OpenAI-compatible embeddings', () => {
  const norm = (vector: Float32Array): number => Math.hypot(...vector);

  it('learns the dimension from a probe, batches, keeps order and normalizes', async () => {
    await fake.close();
    fake = await startFakeOpenAi({ embeddingDimension: 6, shuffleEmbeddings: true });
    const embedder = await createOpenAiEmbedder({ ...settings(), model: 'fake-embed', batchSize: 2 });
    expect(embedder.id).toBe('openai:fake-embed');
    expect(embedder.dimension).toBe(6);
    const texts = ['apple', '苹果', 'a much longer sentence about apples'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(3);
    const embedRequests = fake.requests.filter((request) => request.path === '/v1/embeddings');
    // One probe, then two batches of at most two texts.
    expect(embedRequests.map((request) => request.body.input)).toEqual([
      ['dimension probe'],
      ['apple', '苹果'],
      ['a much longer sentence about apples'],
    ]);
    expect(embedRequests[1]?.body).toMatchObject({ model: 'fake-embed', encoding_format: 'float' });
    const direct = await embedder.embed(['a much longer sentence about apples']);
    texts.forEach((_, index) => expect(norm(vectors[index]!)).toBeCloseTo(1, 5));
    expect([...vectors[2]!]).toEqual([...direct[0]!]);
    expect([...vectors[0]!]).not.toEqual([...vectors[1]!]);
  });

  it('does not probe when the dimension is configured, and refuses a mismatch', async () => {
    const embedder = await createOpenAiEmbedder({ ...settings(), model: 'fake-embed', dimension: 4 });
    expect(fake.requests).toHaveLength(0);
    const error = await failureOf(embedder.embed(['hello']));
    expect(error).toMatchObject({ kind: 'bad-response', retryable: false });
    expect(error.message).toContain('dimension 4');
  });

  it('adds the query or document prefix by purpose and sends nothing for no texts', async () => {
    const embedder = await createOpenAiEmbedder({
      ...settings(),
      model: 'fake-embed',
      dimension: 8,
      queryPrefix: 'query: ',
      documentPrefix: 'passage: ',
    });
    expect(await embedder.embed([])).toEqual([]);
    await embedder.embed(['q'], { purpose: 'query' });
    await embedder.embed(['d'], { purpose: 'document' });
    await embedder.embed(['plain']);
    expect(fake.requests.map((request) => request.body.input)).toEqual([['query: q'], ['passage: d'], ['plain']]);
  });

  it('retries embeddings like chat', async () => {
    const embedder = await createOpenAiEmbedder({ ...settings(), model: 'fake-embed', dimension: 8 });
    fake.failNext({ status: 502 }, { drop: true });
    const [vector] = await embedder.embed(['retry me']);
    expect(vector).toHaveLength(8);
    expect(fake.requests).toHaveLength(3);
  });

  it('answers base64 little-endian float32 when the client asks for it (the SDK default)', async () => {
    const client = new OpenAI({ baseURL: fake.url, apiKey, maxRetries: 0 });
    const response = await client.embeddings.create({ model: 'fake-embed', input: ['abc'] });
    expect(fake.requests[0]?.body.encoding_format).toBe('base64');
    const floatResponse = await client.embeddings.create({ model: 'fake-embed', input: ['abc'], encoding_format: 'float' });
    expect(Array.from(response.data[0]!.embedding)).toEqual(floatResponse.data[0]!.embedding.map(Math.fround));
    expect((await client.models.list()).data.map((entry) => entry.id)).toEqual(['fake-model']);
  });
});
