/**
 * A fake OpenAI-compatible server on 127.0.0.1 speaking the real wire protocol, for any test that needs a chat
 * model or an embedder:
 *
 *   const fake = await startFakeOpenAi({ reply: (request) => 'hello' });
 *   createOpenAiChatModel({ baseURL: fake.url, model: 'fake-model', ... });   // fake.url ends in /v1
 *   fake.requests[0].body.messages                                             // exactly what was sent
 *   fake.failNext({ status: 429, retryAfter: '1' }, { drop: true });           // the next two requests misbehave
 *   await fake.close();
 *
 * Endpoints: POST /v1/chat/completions (stream → SSE `data: {chunk}` lines then `data: [DONE]`; else JSON),
 * POST /v1/embeddings (float arrays, or base64 little-endian float32 when encoding_format is 'base64' or absent),
 * GET /v1/models.
 */
import { chatTurnOf, embeddingTurnOf, startFakeHttpServer, type FakeHttpServer, type FakeLlmOptions, type ScriptedReply } from './fake-llm-http.js';

export type { FakeChatCall, FakeFault, RecordedRequest } from './fake-llm-http.js';

/** A reply: the text (streamed in chunks of 4 characters), or explicit chunks and a finish reason. */
export type FakeChatReply = ScriptedReply<'finishReason'>;

export interface FakeOpenAiOptions extends FakeLlmOptions<FakeChatReply> {
  /** Answer embeddings in reverse order (with correct `index`), as some batching servers do. */
  readonly shuffleEmbeddings?: boolean;
}

/** `url` is the base URL including /v1, ready for `baseURL`. */
export type FakeOpenAi = FakeHttpServer;

export async function startFakeOpenAi(options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  let sequence = 0;

  return startFakeHttpServer({
    basePath: '/v1',
    chatPath: '/v1/chat/completions',
    errorBody: (status, message) => ({
      error: { message, type: status === 429 ? 'rate_limit_exceeded' : 'fake_error', param: null, code: null },
    }),
    async handle(exchange) {
      const { request } = exchange;
      const created = Math.floor(Date.now() / 1000);
      if (request.method === 'GET' && request.path === '/v1/models') {
        const ids = options.models ?? ['fake-model'];
        exchange.json(200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', created, owned_by: 'fake' })) });
        return;
      }
      if (request.method === 'POST' && request.path === '/v1/chat/completions') {
        const { call, chunks, finishReason, promptTokens } = await chatTurnOf(request.body, {
          streamsByDefault: false,
          reply: options.reply,
          reasonKey: 'finishReason',
        });
        const content = chunks.join('');
        const usage = {
          prompt_tokens: promptTokens,
          completion_tokens: chunks.length,
          total_tokens: 0,
        };
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
        const id = `chatcmpl-fake-${++sequence}`;
        if (!call.stream) {
          exchange.json(200, {
            id,
            object: 'chat.completion',
            created,
            model: call.model,
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason, logprobs: null }],
            usage,
          });
          return;
        }
        const frame = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: call.model, choices, ...extra })}\n\n`;
        const pieces = [
          frame([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
          ...chunks.map((text) => frame([{ index: 0, delta: { content: text }, finish_reason: null }])),
          frame([{ index: 0, delta: {}, finish_reason: finishReason }]),
        ];
        const streamOptions = call.body.stream_options as { include_usage?: boolean } | undefined;
        if (streamOptions?.include_usage) pieces.push(frame([], { usage }));
        pieces.push('data: [DONE]\n\n');
        await exchange.stream('text/event-stream', pieces);
        return;
      }
      if (request.method === 'POST' && request.path === '/v1/embeddings') {
        const { model, vectors, tokens } = embeddingTurnOf(request.body, options);
        const asBase64 = (request.body as { encoding_format?: string } | undefined)?.encoding_format !== 'float';
        const data = vectors.map((vector, index) => ({ object: 'embedding', index, embedding: asBase64 ? toBase64Float32(vector) : vector }));
        if (options.shuffleEmbeddings) data.reverse();
        exchange.json(200, {
          object: 'list',
          data,
          model,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        });
        return;
      }
      exchange.json(404, { error: { message: `no route ${request.method} ${request.path}`, type: 'not_found' } });
    },
  });
}

function toBase64Float32(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}
