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
import { chatTurnOf, embeddingTurnOf, startFakeHttpServer, type FakeHttpServer, type FakeLlmOptions, type ScriptedReply } from './fake-llm-http.js';

export type { FakeChatCall, FakeFault, RecordedRequest } from './fake-llm-http.js';

/** A reply: the text (streamed in chunks of 4 characters), or explicit chunks and a done reason. */
export type FakeOllamaReply = ScriptedReply<'doneReason'>;

export interface FakeOllamaOptions extends FakeLlmOptions<FakeOllamaReply> {
  readonly version?: string;
}

/** `url` is the host, e.g. http://127.0.0.1:12345, ready for `host`. */
export type FakeOllama = FakeHttpServer;

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  return startFakeHttpServer({
    chatPath: '/api/chat',
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
        const { call, chunks, finishReason: doneReason, promptTokens } = await chatTurnOf(request.body, {
          streamsByDefault: true,
          reply: options.reply,
          reasonKey: 'doneReason',
        });
        const stats = {
          total_duration: 1_000_000,
          load_duration: 1000,
          prompt_eval_count: promptTokens,
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
        const { model, vectors, tokens } = embeddingTurnOf(request.body, options);
        exchange.json(200, {
          model,
          embeddings: vectors,
          total_duration: 1000,
          load_duration: 100,
          prompt_eval_count: tokens,
        });
        return;
      }
      exchange.json(404, { error: `no route ${request.method} ${request.path}` });
    },
  });
}
