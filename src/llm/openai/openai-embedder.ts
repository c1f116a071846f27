/**
 * An Embedder over POST {baseURL}/embeddings of any OpenAI-compatible server. We ask for `encoding_format: 'float'`
 * because some compatible servers ignore base64; a base64 answer (little-endian float32) is decoded all the same.
 */
import { createLogger } from '../../util/logger.js';
import { createRemoteEmbedder, type RemoteEmbedderOptions } from '../remote-embedder.js';
import { failureMessage, retryCall, type RemoteCallSettings, type RetryHooks } from '../retry.js';
import { LlmError, type Embedder } from '../types.js';
import { connectOpenAi } from './openai-client.js';
import { mapOpenAiError } from './openai-errors.js';

export interface OpenAiEmbedderSettings extends RemoteCallSettings, RemoteEmbedderOptions {
  readonly model: string;
  readonly baseURL?: string;
  readonly apiKey?: string;
}

const logger = createLogger('llm:openai');
const provider = 'openai';

/** Async because, without a configured dimension, it asks the server once (see ../remote-embedder.ts). */
export async function createOpenAiEmbedder(settings: OpenAiEmbedderSettings, hooks: RetryHooks = {}): Promise<Embedder> {
  const { client, endpoint, apiKey } = connectOpenAi(settings);
  const base = { provider, operation: 'embed', endpoint };

  return createRemoteEmbedder(
    {
      id: `openai:${settings.model}`,
      provider,
      endpoint,
      defaultBatchSize: 64,
      embedBatch: (texts, callerSignal) =>
        retryCall(
          {
            ...base,
            ...hooks,
            settings,
            logger,
            ...(callerSignal ? { signal: callerSignal } : {}),
            mapError: (error) => mapOpenAiError(error, base, apiKey),
          },
          async (signal) => {
            const response = await client.embeddings.create(
              { model: settings.model, input: texts, encoding_format: 'float' },
              { signal },
            );
            const data = Array.isArray(response.data) ? [...response.data] : [];
            // The spec orders by `index`; servers that batch internally do not always keep the order.
            data.sort((left, right) => left.index - right.index);
            return data.map((item) => decodeEmbedding(item.embedding as unknown, base));
          },
        ),
    },
    settings,
  );
}

function decodeEmbedding(value: unknown, context: { provider: string; operation: string; endpoint: string }): ArrayLike<number> {
  if (Array.isArray(value) && value.every((item) => typeof item === 'number')) return value as number[];
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'base64');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const vector = new Float32Array(Math.floor(bytes.byteLength / 4));
    for (let index = 0; index < vector.length; index++) vector[index] = view.getFloat32(index * 4, true);
    return vector;
  }
  throw new LlmError(
    failureMessage(context, 'an embedding is neither a list of numbers nor base64'),
    provider,
    'bad-response',
    false,
  );
}
