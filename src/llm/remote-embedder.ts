/**
 * What the remote embedders (openai/, ollama/) share: batching, optional query/document prefixes, checking what
 * came back, unit normalization, and learning the dimension.
 *
 * Dimension: when the settings do not give one, the (async) factory embeds one short probe text and takes the
 * length of that vector. So `await createOpenAiEmbedder(...)` talks to the server once when no dimension is
 * configured, and never when one is; every later answer must have that dimension or it is refused.
 */
import { LlmError, type Embedder } from './types.js';

export interface RemoteEmbedderOptions {
  /** The vector length; learnt from a probe request when absent. */
  readonly dimension?: number;
  /** Texts per request; larger inputs are split and the results joined in order. */
  readonly batchSize?: number;
  /** Prepended to texts embedded for search, e.g. 'search_query: ' (nomic) or 'query: ' (e5). */
  readonly queryPrefix?: string;
  /** Prepended to texts embedded for storage, e.g. 'search_document: ' or 'passage: '. */
  readonly documentPrefix?: string;
}

export interface RemoteEmbedderCore {
  readonly id: string;
  readonly provider: string;
  readonly endpoint: string;
  readonly defaultBatchSize: number;
  /** One request (with its own retries): one raw vector per text, in order. */
  embedBatch(texts: string[], signal: AbortSignal | undefined): Promise<ArrayLike<number>[]>;
}

export const dimensionProbeText = 'dimension probe';

export async function createRemoteEmbedder(core: RemoteEmbedderCore, options: RemoteEmbedderOptions): Promise<Embedder> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? core.defaultBatchSize));
  const refuse = (detail: string): LlmError =>
    new LlmError(`${core.provider} embed at ${core.endpoint}: ${detail}`, core.provider, 'bad-response', false);

  let dimension = options.dimension;
  if (dimension === undefined) {
    const [probe] = await core.embedBatch([dimensionProbeText], undefined);
    if (!probe || probe.length === 0) throw refuse('the dimension probe came back without a vector');
    dimension = probe.length;
  }
  const expectedDimension = dimension;

  return {
    id: core.id,
    dimension: expectedDimension,
    async embed(texts, embedOptions) {
      const prefix = embedOptions?.purpose === 'query' ? options.queryPrefix : embedOptions?.purpose === 'document'
        ? options.documentPrefix
        : undefined;
      const prepared = prefix ? texts.map((text) => prefix + text) : [...texts];
      const vectors: Float32Array[] = [];
      for (let start = 0; start < prepared.length; start += batchSize) {
        const batch = prepared.slice(start, start + batchSize);
        const raw = await core.embedBatch(batch, embedOptions?.signal);
        if (raw.length !== batch.length) {
          throw refuse(`asked for ${batch.length} vectors, got ${raw.length}`);
        }
        for (const vector of raw) {
          if (vector.length !== expectedDimension) {
            throw refuse(`expected vectors of dimension ${expectedDimension}, got ${vector.length}`);
          }
          const unit = toUnitVector(vector);
          if (!unit.every(Number.isFinite)) throw refuse('a vector holds values that are not finite numbers');
          vectors.push(unit);
        }
      }
      return vectors;
    },
  };
}

/** Scales to length 1; an all-zero vector stays zero (there is no direction to keep). */
export function toUnitVector(values: ArrayLike<number>): Float32Array {
  const vector = Float32Array.from(values);
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares);
  if (norm > 0) for (let index = 0; index < vector.length; index++) vector[index] = (vector[index] ?? 0) / norm;
  return vector;
}
