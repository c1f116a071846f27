/**
 * The one place that turns validated LLM settings into a ChatModel. Environment variables (OPENAI_BASE_URL, ...)
 * are read by the config module, never here: settings arrive complete and explicit.
 */
import { createOllamaChatModel } from './ollama/ollama-chat-model.js';
import { createOpenAiChatModel } from './openai/openai-chat-model.js';
import type { RetryHooks } from './retry.js';
import type { ChatModel } from './types.js';

export interface LlmSettings {
  provider: 'openai' | 'ollama';
  model: string;
  /** openai: e.g. https://api.deepseek.com/v1; default https://api.openai.com/v1. */
  baseURL?: string;
  /** openai: local servers accept any non-empty key; 'not-needed' is sent when absent. */
  apiKey?: string;
  /** ollama: default http://127.0.0.1:11434. */
  host?: string;
  /** Per attempt: the whole call, or for a stream each wait for the next chunk. */
  timeoutMs: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

export function createChatModel(settings: LlmSettings, hooks: RetryHooks = {}): ChatModel {
  const shared = {
    model: settings.model,
    timeoutMs: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    retryBaseDelayMs: settings.retryBaseDelayMs,
    retryMaxDelayMs: settings.retryMaxDelayMs,
  };
  switch (settings.provider) {
    case 'openai':
      return createOpenAiChatModel(
        {
          ...shared,
          ...(settings.baseURL !== undefined ? { baseURL: settings.baseURL } : {}),
          ...(settings.apiKey !== undefined ? { apiKey: settings.apiKey } : {}),
        },
        hooks,
      );
    case 'ollama':
      return createOllamaChatModel({ ...shared, ...(settings.host !== undefined ? { host: settings.host } : {}) }, hooks);
  }
}
