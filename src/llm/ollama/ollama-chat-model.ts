/**
 * A ChatModel over Ollama's native /api/chat through the `ollama` client (NDJSON streaming). Each attempt has its
 * own client bound to its own signal (see ollama-client.ts); retries and timeouts come from ../retry.ts.
 */
import type { ChatRequest as OllamaChatRequest, ChatResponse as OllamaChatResponse, Options } from 'ollama';
import { createLogger } from '../../util/logger.js';
import { retryCall, retryStream, type RemoteCallSettings, type RetryContext, type RetryHooks } from '../retry.js';
import type { ChatModel, ChatRequest, ChatResult, ChatStreamPart, TokenUsage } from '../types.js';
import { mapOllamaError, openOllamaAttempt, resolveOllamaHost, type OllamaAttempt } from './ollama-client.js';

export interface OllamaChatSettings extends RemoteCallSettings {
  readonly model: string;
  /** Default http://127.0.0.1:11434. */
  readonly host?: string;
}

const logger = createLogger('llm:ollama');
const provider = 'ollama';

export function createOllamaChatModel(settings: OllamaChatSettings, hooks: RetryHooks = {}): ChatModel {
  const { host, endpoint } = resolveOllamaHost(settings.host);

  /** The retry context of one call; `current` is the attempt in flight, so errors can read its Retry-After. */
  const context = (operation: string, signal: AbortSignal | undefined) => {
    const base = { provider, operation, endpoint };
    let current: OllamaAttempt | undefined;
    const retry: RetryContext = {
      ...base,
      ...hooks,
      settings,
      logger,
      ...(signal ? { signal } : {}),
      mapError: (error) => mapOllamaError(error, base, current?.retryAfterSeconds()),
    };
    const attempt = (attemptSignal: AbortSignal): OllamaAttempt => (current = openOllamaAttempt(host, attemptSignal));
    return { retry, attempt };
  };

  const buildRequest = (request: ChatRequest): Omit<OllamaChatRequest, 'stream'> => {
    const options: Partial<Options> = {};
    if (request.maxTokens !== undefined) options.num_predict = request.maxTokens;
    if (request.temperature !== undefined) options.temperature = request.temperature;
    if (request.topP !== undefined) options.top_p = request.topP;
    if (request.stop && request.stop.length > 0) options.stop = [...request.stop];
    return {
      model: settings.model,
      messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
      ...(request.json ? { format: 'json' } : {}),
      ...(Object.keys(options).length > 0 ? { options } : {}),
    };
  };

  return {
    provider,
    modelId: settings.model,
    endpoint,

    async generate(request: ChatRequest): Promise<ChatResult> {
      const { retry, attempt } = context('chat', request.signal);
      const body = buildRequest(request);
      return retryCall(retry, async (signal) => {
        const response = await attempt(signal).client.chat({ ...body, stream: false });
        const usage = toTokenUsage(response);
        return {
          text: response.message?.content ?? '',
          finishReason: response.done_reason || 'stop',
          ...(usage ? { usage } : {}),
        };
      });
    },

    stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
      const { retry, attempt } = context('chat-stream', request.signal);
      const body = buildRequest(request);
      return retryStream(retry, async function* (signal, progress): AsyncGenerator<ChatStreamPart> {
        const parts = await attempt(signal).client.chat({ ...body, stream: true });
        for await (const part of parts) {
          // Any line proves the server alive, even one without text (a thinking model's reasoning).
          progress();
          const text = part.message?.content;
          if (text) yield { type: 'text-delta', text };
          if (part.done) {
            const usage = toTokenUsage(part);
            yield { type: 'finish', finishReason: part.done_reason || 'stop', ...(usage ? { usage } : {}) };
            return;
          }
        }
      });
    },
  };
}

function toTokenUsage(response: OllamaChatResponse): TokenUsage | undefined {
  const usage: { promptTokens?: number; completionTokens?: number } = {};
  if (typeof response.prompt_eval_count === 'number') usage.promptTokens = response.prompt_eval_count;
  if (typeof response.eval_count === 'number') usage.completionTokens = response.eval_count;
  return Object.keys(usage).length > 0 ? usage : undefined;
}
