/**
 * A ChatModel for any OpenAI-compatible server (OpenAI, DeepSeek, vLLM, LM Studio, llama.cpp, Ollama's /v1)
 * through the official `openai` client. Streaming is SSE; retries and timeouts come from ../retry.ts.
 */
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { createLogger } from '../../util/logger.js';
import {
  failureMessage,
  retryCall,
  retryStream,
  type RemoteCallSettings,
  type RetryContext,
  type RetryHooks,
} from '../retry.js';
import {
  LlmError,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  type TokenUsage,
} from '../types.js';
import { connectOpenAi } from './openai-client.js';
import { mapOpenAiError } from './openai-errors.js';

export interface OpenAiChatSettings extends RemoteCallSettings {
  readonly model: string;
  /** Default https://api.openai.com/v1; e.g. https://api.deepseek.com/v1 or http://127.0.0.1:8000/v1 (vLLM). */
  readonly baseURL?: string;
  /** Local servers accept any key; 'not-needed' is sent when absent. */
  readonly apiKey?: string;
}

const logger = createLogger('llm:openai');
const provider = 'openai';

type ChatBody = Omit<ChatCompletionCreateParamsNonStreaming, 'stream'>;

export function createOpenAiChatModel(settings: OpenAiChatSettings, hooks: RetryHooks = {}): ChatModel {
  const { client, endpoint, apiKey, url } = connectOpenAi(settings);
  // OpenAI's own API rejects max_tokens on its newer models; compatible servers mostly know only max_tokens.
  const useCompletionTokens = url.hostname === 'api.openai.com';

  const context = (operation: string, signal: AbortSignal | undefined): RetryContext => {
    const base = { provider, operation, endpoint };
    return {
      ...base,
      ...hooks,
      settings,
      logger,
      ...(signal ? { signal } : {}),
      mapError: (error) => mapOpenAiError(error, base, apiKey),
    };
  };

  const buildBody = (request: ChatRequest): ChatBody => {
    const body: ChatBody = {
      model: settings.model,
      messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
    };
    if (request.maxTokens !== undefined) {
      if (useCompletionTokens) body.max_completion_tokens = request.maxTokens;
      else body.max_tokens = request.maxTokens;
    }
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.topP !== undefined) body.top_p = request.topP;
    if (request.stop && request.stop.length > 0) body.stop = [...request.stop];
    if (request.json) body.response_format = { type: 'json_object' };
    return body;
  };

  return {
    provider,
    modelId: settings.model,
    endpoint,

    async generate(request: ChatRequest): Promise<ChatResult> {
      const call = context('chat', request.signal);
      const body: ChatCompletionCreateParamsNonStreaming = { ...buildBody(request), stream: false };
      return retryCall(call, async (signal) => {
        const completion = await client.chat.completions.create(body, { signal });
        const choice = completion.choices?.[0];
        if (!choice) {
          throw new LlmError(failureMessage(call, 'the answer has no choices'), provider, 'bad-response', false);
        }
        const usage = toTokenUsage(completion.usage);
        return {
          text: choice.message?.content ?? '',
          finishReason: choice.finish_reason ?? 'unknown',
          ...(usage ? { usage } : {}),
        };
      });
    },

    stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
      const call = context('chat-stream', request.signal);
      const body: ChatCompletionCreateParamsStreaming = {
        ...buildBody(request),
        stream: true,
        stream_options: { include_usage: true },
      };
      return retryStream(call, async function* (signal, progress): AsyncGenerator<ChatStreamPart> {
        const chunks = await client.chat.completions.create(body, { signal });
        let finishReason: string | undefined;
        let usage: TokenUsage | undefined;
        for await (const chunk of chunks) {
          // Any chunk proves the server alive, even one without text (a role, a reasoning model's thinking).
          progress();
          usage = toTokenUsage(chunk.usage) ?? usage;
          // The usage chunk has no choices; the others carry one delta each.
          const choice = chunk.choices?.[0];
          const text = choice?.delta?.content;
          if (text) yield { type: 'text-delta', text };
          if (choice?.finish_reason) finishReason = choice.finish_reason;
        }
        // The SDK ends an aborted stream quietly; make the abort (caller's or our timer's) visible.
        if (signal.aborted) throw signal.reason;
        yield { type: 'finish', finishReason: finishReason ?? 'unknown', ...(usage ? { usage } : {}) };
      });
    },
  };
}

function toTokenUsage(usage: CompletionUsage | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}
