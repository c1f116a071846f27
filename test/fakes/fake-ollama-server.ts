/**
 * A fake Ollama server on 127.0.0.1 speaking the real wire protocol:
 *
 *   const fake = await startFakeOllama({ reply: (call) => 'hello' });
 *   createOllamaChatModel({ host: fake.url, model: 'fake-model', ... });
 *   fake.requests[0].body.options                  // exactly what was sent
 *   fake.failNext({ status: 503 }, { delayMs: 200 });
 *   await fake.close();
 *
 * Endpoints: POST /api/chat (NDJSON stream unless `stream: false`, as Ollama defaults to streaming),
 * POST /api/embed ({ embeddings }), GET /api/tags, GET /api/version. Errors are `{ "error": "..." }` like Ollama's.
 */
import {
  defaultFakeEmbedding,
  splitIntoChunks,
  startFakeHttpServer,
  type FakeFault,
  type RecordedRequest,
} from './fake-llm-http.js';

export type { FakeFault, RecordedRequest } from './fake-llm-http.js';

export interface FakeOllamaChatCall {
  readonly model: string;
  readonly messages: { role: string; content: string }[];
  readonly stream: boolean;
  readonly body: Record<string, unknown>;
}

/** A reply: the text (streamed in chunks of 4 characters), or explicit chunks and a done reason. */
export type FakeOllamaReply = string | { readonly chunks: readonly string[]; readonly doneReason?: string };

export interface FakeOllamaOptions {
  /** Default: 'echo: ' + the last user message. */
  readonly reply?: (call: FakeOllamaChatCall) => FakeOllamaReply;
  /** Default: a deterministic vector of `embeddingDimension` numbers, not unit length. */
  readonly embed?: (text: string) => number[];
  readonly embeddingDimension?: number;
  readonly models?: readonly string[];
  readonly version?: string;
}

export interface FakeOllama {
  /** The host, e.g. http://127.0.0.1:12345, ready for `host`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  chatRequests(): RecordedRequest[];
  failNext(...faults: FakeFault[]): void;
  chunkDelayMs: number;
  close(): Promise<void>;
}

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  const dimension = options.embeddingDimension ?? 8;
  const reply = options.reply ?? defaultReply;
  const embed = options.embed ?? ((text: string) => defaultFakeEmbedding(text, dimension));

  const server = await startFakeHttpServer({
    errorBody: (_status, message) => ({ error: message }),
    async handle(exchange) {
      const { request } = exchange;
      const createdAt = new Date().toISOString();
      if (request.method === 'GET' && request.path === '/api/version') {
        exchange.json(200, { version: options.version ?? '0.12.6' });
        return;
      }
      if (request.method === 'GET' && request.path === '/api/tags') {
        const names = options.models ?? ['fake-model:latest'];
        exchange.json(200, {
          models: names.map((name) => ({
            name,
            model: name,
            modified_at: createdAt,
            size: 1024,
            digest: 'sha256:fake',
            details: { format: 'gguf', family: 'fake', families: ['fake'], parameter_size: '1B', quantization_level: 'Q4_0' },
          })),
        });
        return;
      }
      if (request.method === 'POST' && request.path === '/api/chat') {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const call: FakeOllamaChatCall = {
          model: String(body.model ?? ''),
          messages: Array.isArray(body.messages) ? (body.messages as FakeOllamaChatCall['messages']) : [],
          stream: body.stream !== false,
          body,
        };
        const answer = reply(call);
        const chunks = typeof answer === 'string' ? splitIntoChunks(answer) : [...answer.chunks];
        const doneReason = typeof answer === 'string' ? 'stop' : (answer.doneReason ?? 'stop');
        const stats = {
          total_duration: 1_000_000,
          load_duration: 1000,
          prompt_eval_count: call.messages.reduce((sum, message) => sum + String(message.content).length, 0),
          prompt_eval_duration: 1000,
          eval_count: chunks.length,
          eval_duration: 1000,
        };
        const message = (content: string) => ({ role: 'assistant', content });
        if (!call.stream) {
          exchange.json(200, {
            model: call.model,
            created_at: createdAt,
            message: message(chunks.join('')),
            done: true,
            done_reason: doneReason,
            ...stats,
          });
          return;
        }
        const line = (value: unknown): string => `${JSON.stringify(value)}\n`;
        const pieces = [
          ...chunks.map((text) => line({ model: call.model, created_at: createdAt, message: message(text), done: false })),
          line({ model: call.model, created_at: createdAt, message: message(''), done: true, done_reason: doneReason, ...stats }),
        ];
        await exchange.stream('application/x-ndjson', pieces);
        return;
      }
      if (request.method === 'POST' && request.path === '/api/embed') {
        const body = (request.body ?? {}) as { model?: string; input?: unknown };
        const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
        exchange.json(200, {
          model: body.model ?? '',
          embeddings: inputs.map((text) => embed(text)),
          total_duration: 1000,
          load_duration: 100,
          prompt_eval_count: inputs.reduce((sum, text) => sum + text.length, 0),
        });
        return;
      }
      exchange.json(404, { error: `no route ${request.method} ${request.path}` });
    },
  });

  return {
    url: server.url,
    requests: server.requests,
    chatRequests: () => server.requests.filter((request) => request.path === '/api/chat'),
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

function defaultReply(call: FakeOllamaChatCall): string {
  const lastUser = [...call.messages].reverse().find((message) => message.role === 'user');
  return `echo: ${lastUser?.content ?? ''}`;
}
