/** An Embedder over Ollama's POST /api/embed ({ input: string[] } → { embeddings: number[][] }). */
import { createLogger } from '../../util/logger.js';
import { createRemoteEmbedder, type RemoteEmbedderOptions } from '../remote-embedder.js';
import { retryCall, type RemoteCallSettings, type RetryHooks } from '../retry.js';
import type { Embedder } from '../types.js';
import { mapOllamaError, openOllamaAttempt, resolveOllamaHost, type OllamaAttempt } from './ollama-client.js';

export interface OllamaEmbedderSettings extends RemoteCallSettings, RemoteEmbedderOptions {
  readonly model: string;
  /** Default http://127.0.0.1:11434. */
  readonly host?: string;
}

const logger = createLogger('llm:ollama');
const provider = 'ollama';

/** Async because, without a configured dimension, it asks the server once (see ../remote-embedder.ts). */
export async function createOllamaEmbedder(settings: OllamaEmbedderSettings, hooks: RetryHooks = {}): Promise<Embedder> {
  const { host, endpoint } = resolveOllamaHost(settings.host);
  const base = { provider, operation: 'embed', endpoint };

  return createRemoteEmbedder(
    {
      id: `ollama:${settings.model}`,
      provider,
      endpoint,
      defaultBatchSize: 32,
      embedBatch: (texts, callerSignal) => {
        let current: OllamaAttempt | undefined;
        return retryCall(
          {
            ...base,
            ...hooks,
            settings,
            logger,
            ...(callerSignal ? { signal: callerSignal } : {}),
            mapError: (error) => mapOllamaError(error, base, current?.retryAfterSeconds()),
          },
          async (signal) => {
            current = openOllamaAttempt(host, signal);
            const response = await current.client.embed({ model: settings.model, input: texts });
            return Array.isArray(response.embeddings) ? response.embeddings : [];
          },
        );
      },
    },
    settings,
  );
}
