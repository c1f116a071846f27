/**
 * The chat model's settings (`llm:` in config.yaml), and how 'auto' and the per-provider defaults resolve into the
 * explicit LlmSettings that create-chat-model.ts takes. Mounted by src/config.ts.
 */
import { z } from 'zod';
import { positiveInt } from '../util/schema.js';
import type { LlmSettings } from './create-chat-model.js';

export const llmSettingsSchema = z
  .object({
    provider: z.enum(['auto', 'openai', 'ollama']).default('auto'),
    /** default per provider: qwen2.5:7b on Ollama, gpt-4o-mini on OpenAI-compatible servers */
    model: z.string().min(1).optional(),
    baseURL: z.string().url().optional(),
    apiKey: z.string().min(1).optional(),
    host: z.string().url().optional(),
    contextWindow: positiveInt.default(8192),
    maxReplyTokens: positiveInt.default(512),
    temperature: z.number().min(0).max(2).default(0.8),
    timeoutMs: positiveInt.default(60_000),
    maxRetries: z.number().int().min(0).max(10).default(3),
    retryBaseDelayMs: positiveInt.default(500),
    retryMaxDelayMs: positiveInt.default(20_000),
  })
  .strict()
  .superRefine((llm, context) => {
    if (llm.maxReplyTokens >= llm.contextWindow) {
      context.addIssue({ code: 'custom', path: ['maxReplyTokens'], message: `less than llm.contextWindow (${llm.contextWindow})` });
    }
  });

export type LlmFileSettings = z.infer<typeof llmSettingsSchema>;

/** The model as the app uses it: the provider decided, the model and host filled in. */
export type ResolvedLlmSettings = LlmSettings & { readonly contextWindow: number; readonly maxReplyTokens: number; readonly temperature: number };

/**
 * 'auto' is an OpenAI-compatible server when one is configured (a base URL or an API key), else a local Ollama (the
 * zero-setup default).
 */
export function resolveLlmSettings(llm: LlmFileSettings): ResolvedLlmSettings {
  const provider = llm.provider === 'auto' ? (llm.baseURL || llm.apiKey ? 'openai' : 'ollama') : llm.provider;
  return {
    provider,
    model: llm.model ?? (provider === 'ollama' ? 'qwen2.5:7b' : 'gpt-4o-mini'),
    baseURL: llm.baseURL,
    apiKey: llm.apiKey,
    host: llm.host ?? 'http://127.0.0.1:11434',
    timeoutMs: llm.timeoutMs,
    maxRetries: llm.maxRetries,
    retryBaseDelayMs: llm.retryBaseDelayMs,
    retryMaxDelayMs: llm.retryMaxDelayMs,
    contextWindow: llm.contextWindow,
    maxReplyTokens: llm.maxReplyTokens,
    temperature: llm.temperature,
  };
}

/** OLLAMA_HOST is often given as "0.0.0.0:11434" or "host:port" without a scheme, as the ollama CLI accepts. */
export function normalizeOllamaHost(value: string): string {
  const withScheme = /^https?:\/\//.test(value) ? value : `http://${value}`;
  return withScheme.replace('://0.0.0.0', '://127.0.0.1');
}
