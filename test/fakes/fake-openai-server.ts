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
import {
  defaultFakeEmbedding,
  splitIntoChunks,
  startFakeHttpServer,
  type FakeFault,
  type RecordedRequest,
} from './fake-llm-http.js';

export type { FakeFault, RecordedRequest } from './fake-llm-http.js';

export interface FakeChatCall {
  readonly model: string;
  readonly messages: { role: string; content: string }[];
  readonly stream: boolean;
  /** The whole request body, for anything else a reply wants to look at. */
  readonly body: Record<string, unknown>;
}

/** A reply: the text (streamed in chunks of 4 characters), or explicit chunks and a finish reason. */
export type FakeChatReply = string | { readonly chunks: readonly string[]; readonly finishReason?: string };

export interface FakeOpenAiOptions {
  /** Default: 'echo: ' + the last user message. May be async: a slow or held reply (the client waits meanwhile). */
  readonly reply?: (call: FakeChatCall) => FakeChatReply | Promise<FakeChatReply>;
  /** Default: a deterministic vector of `embeddingDimension` numbers, not unit length. */
  readonly embed?: (text: string) => number[];
  readonly embeddingDimension?: number;
  /** Answer embeddings in reverse order (with correct `index`), as some batching servers do. */
  readonly shuffleEmbeddings?: boolean;
  readonly models?: readonly string[];
}

export interface FakeOpenAi {
  /** Base URL including /v1, ready for `baseURL`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Only the chat requests, in order. */
  chatRequests(): RecordedRequest[];
  failNext(...faults: FakeFault[]): void;
  chunkDelayMs: number;
  close(): Promise<void>;
}

export async function startFakeOpenAi(options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const dimension = options.embeddingDimension ?? 8;
  const reply = options.reply ?? defaultReply;
  const embed = options.embed ?? ((text: string) => defaultFakeEmbedding(text, dimension));
  let sequence = 0;

  const server = await startFakeHttpServer({
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
        const body = (request.body ?? {}) as Record<string, unknown>;
        const call: FakeChatCall = {
          model: String(body.model ?? ''),
          messages: Array.isArray(body.messages) ? (body.messages as FakeChatCall['messages']) : [],
          stream: body.stream === true,
          body,
        };
        const answer = await reply(call);
        const chunks = typeof answer === 'string' ? splitIntoChunks(answer) : [...answer.chunks];
        const finishReason = typeof answer === 'string' ? 'stop' : (answer.finishReason ?? 'stop');
        const content = chunks.join('');
        const usage = {
          prompt_tokens: call.messages.reduce((sum, message) => sum + String(message.content).length, 0),
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
        const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
        if (streamOptions?.include_usage) pieces.push(frame([], { usage }));
        pieces.push('data: [DONE]\n\n');
        await exchange.stream('text/event-stream', pieces);
        return;
      }
      if (request.method === 'POST' && request.path === '/v1/embeddings') {
        const body = (request.body ?? {}) as { model?: string; input?: unknown; encoding_format?: string };
        const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
        const asBase64 = body.encoding_format !== 'float';
        const data = inputs.map((text, index) => {
          const vector = embed(text);
          return { object: 'embedding', index, embedding: asBase64 ? toBase64Float32(vector) : vector };
        });
        if (options.shuffleEmbeddings) data.reverse();
        const tokens = inputs.reduce((sum, text) => sum + text.length, 0);
        exchange.json(200, {
          object: 'list',
          data,
          model: body.model ?? '',
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        });
        return;
      }
      exchange.json(404, { error: { message: `no route ${request.method} ${request.path}`, type: 'not_found' } });
    },
  });

  return {
    url: `${server.url}/v1`,
    requests: server.requests,
    chatRequests: () => server.requests.filter((request) => request.path === '/v1/chat/completions'),
    failNext: server.failNext,
    get chunkDelayMs() {
      return server.chunkDelayMs;
    },
    set chunkDelayMs(value: number) {
      server.chunkDelayMs = value;
    },
    close: server.close,
  };
}

function defaultReply(call: FakeChatCall): string {
  const lastUser = [...call.messages].reverse().find((message) => message.role === 'user');
  return `echo: ${lastUser?.content ?? ''}`;
}

function toBase64Float32(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}
