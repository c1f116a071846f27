/**
 * The one place that turns `memory.embedder` settings into an Embedder, choosing among the providers' own
 * implementations (src/llm/builtin, src/llm/local, src/llm/openai, src/llm/ollama). Remote embedders inherit the
 * chat model's endpoint, key and retry policy unless the embedder settings name their own.
 *
 * Defaults: builtin needs nothing (offline character n-grams); transformers uses Xenova/multilingual-e5-small from
 * `localModelPath` (downloads only with allowRemote); OpenAI-compatible servers text-embedding-3-small; Ollama
 * bge-m3 (multilingual, good at Chinese).
 */
import type { LlmSettings } from '../llm/create-chat-model.js';
import { createBuiltinEmbedder } from '../llm/builtin/ngram-embedder.js';
// Static, yet light: the transformers embedder imports @huggingface/transformers (and onnxruntime) only when called.
import { createTransformersEmbedder } from '../llm/local/transformers-embedder.js';
import { createOllamaEmbedder } from '../llm/ollama/ollama-embedder.js';
import { createOpenAiEmbedder } from '../llm/openai/openai-embedder.js';
import type { Embedder } from '../llm/types.js';
import { registerSecret } from '../util/logger.js';
import type { EmbedderSettings } from './settings.js';

/** What an embedder borrows from the chat model's settings when its own are silent. */
export type EmbedderDefaults = Partial<
  Pick<LlmSettings, 'baseURL' | 'apiKey' | 'host' | 'timeoutMs' | 'maxRetries' | 'retryBaseDelayMs' | 'retryMaxDelayMs'>
>;

export const defaultEmbeddingModels = {
  transformers: 'Xenova/multilingual-e5-small',
  openai: 'text-embedding-3-small',
  ollama: 'bge-m3',
} as const;

export async function createEmbedder(settings: EmbedderSettings, llmDefaults: EmbedderDefaults = {}): Promise<Embedder> {
  const remote = {
    timeoutMs: llmDefaults.timeoutMs ?? 60_000,
    maxRetries: llmDefaults.maxRetries ?? 3,
    retryBaseDelayMs: llmDefaults.retryBaseDelayMs ?? 500,
    retryMaxDelayMs: llmDefaults.retryMaxDelayMs ?? 20_000,
    ...(settings.dimension !== undefined ? { dimension: settings.dimension } : {}),
    ...(settings.batchSize !== undefined ? { batchSize: settings.batchSize } : {}),
  };
  switch (settings.provider) {
    case 'builtin': {
      return createBuiltinEmbedder(settings.dimension !== undefined ? { dimension: settings.dimension } : {});
    }
    case 'transformers': {
      return createTransformersEmbedder({
        model: settings.model ?? defaultEmbeddingModels.transformers,
        allowRemote: settings.allowRemote,
        ...(settings.localModelPath !== undefined ? { localModelPath: settings.localModelPath } : {}),
        ...(settings.dimension !== undefined ? { dimension: settings.dimension } : {}),
        ...(settings.batchSize !== undefined ? { batchSize: settings.batchSize } : {}),
      });
    }
    case 'openai': {
      const apiKey = settings.apiKey ?? llmDefaults.apiKey;
      registerSecret(apiKey);
      const baseURL = settings.baseURL ?? llmDefaults.baseURL;
      return createOpenAiEmbedder({
        ...remote,
        model: settings.model ?? defaultEmbeddingModels.openai,
        ...(baseURL !== undefined ? { baseURL } : {}),
        ...(apiKey !== undefined ? { apiKey } : {}),
      });
    }
    case 'ollama': {
      const host = settings.host ?? llmDefaults.host;
      return createOllamaEmbedder({
        ...remote,
        model: settings.model ?? defaultEmbeddingModels.ollama,
        ...(host !== undefined ? { host } : {}),
      });
    }
  }
}
