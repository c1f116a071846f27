/**
 * An Embedder that runs a sentence-embedding model on this machine through transformers.js (ONNX Runtime on the
 * CPU). The model is a hub id (Xenova/multilingual-e5-small), found as `<localModelPath>/<id>/`, or a folder of its
 * own; either holds config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx. Nothing is downloaded
 * unless allowRemote is on, and then the download lands in localModelPath, where the next offline start finds it.
 *
 * @huggingface/transformers is imported inside the factory, so a process that uses another embedder never loads
 * onnxruntime.
 */
// A type-only import is erased at compile time: it does not load the library.
import type { FeatureExtractionPipeline } from '@huggingface/transformers';
import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../util/logger.js';
import { LlmError, type Embedder } from '../types.js';

export interface TransformersEmbedderOptions {
  /** A hub id ("Xenova/multilingual-e5-small") or a model folder (absolute, "./…", or more than one "/" deep). */
  readonly model: string;
  /** Where hub ids are looked up (as `<localModelPath>/<id>/`); default `./models` under the working directory. */
  readonly localModelPath?: string;
  /** Download a missing hub model (off by default). */
  readonly allowRemote?: boolean;
  /** The expected vector length; checked against the model's at load. */
  readonly dimension?: number;
  /** Texts per forward pass (default 16). */
  readonly batchSize?: number;
  /** Default: 'cls' for BGE models (how they were trained), 'mean' for the rest. */
  readonly pooling?: 'mean' | 'cls';
}

const logger = createLogger('llm:transformers');
const provider = 'transformers';
const settingsSource = 'memory settings';
const defaultBatchSize = 16;
const probeText = 'omoide';

/** BGE's Chinese models were trained with this instruction in front of retrieval queries (not documents). */
const bgeChineseQueryInstruction = '为这个句子生成表示以用于检索相关文章：';

/** A hub id is `name` or `owner/name`; anything else that looks like a path is a folder. */
function isFolderPath(model: string): boolean {
  if (isAbsolute(model) || model.startsWith('.') || model.includes('\\') || model.split('/').length > 2) return true;
  // `owner/name` can also be a folder relative to the working directory; a config.json there settles it.
  return existsSync(resolve(model, 'config.json'));
}

/** The prefix each model family was trained with, by purpose. */
function promptPrefixes(name: string): { query: string; document: string } {
  const lower = name.toLowerCase();
  if (/(^|[^a-z0-9])e5([^a-z0-9]|$)/.test(lower)) return { query: 'query: ', document: 'passage: ' };
  if (/bge-.*zh/.test(lower)) return { query: bgeChineseQueryInstruction, document: '' };
  return { query: '', document: '' };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function createTransformersEmbedder(options: TransformersEmbedderOptions): Promise<Embedder> {
  const batchSize = options.batchSize ?? defaultBatchSize;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new ConfigError('memory.embedder.batchSize', `a positive integer (got ${batchSize})`, settingsSource);
  }
  const allowRemote = options.allowRemote ?? false;
  const folder = isFolderPath(options.model) ? resolve(options.model) : undefined;
  const localModelPath = resolve(options.localModelPath ?? 'models');
  // transformers.js reads an absolute path as a folder and never sends it to the hub.
  const modelReference = folder ?? options.model;
  const modelName = folder ? basename(folder) : options.model;
  const lookedIn = folder ?? join(localModelPath, options.model);
  const prefixes = promptPrefixes(modelName);
  const pooling = options.pooling ?? (/(^|[^a-z0-9])bge/.test(modelName.toLowerCase()) ? 'cls' : 'mean');

  const transformers = await import('@huggingface/transformers');
  // These settings are process-wide in transformers.js; omoide loads at most one local embedder per process.
  transformers.env.allowLocalModels = true;
  transformers.env.allowRemoteModels = allowRemote;
  transformers.env.localModelPath = localModelPath;
  // The download cache has the same <id>/<file> layout as localModelPath, so a downloaded model is found offline.
  if (allowRemote) transformers.env.cacheDir = localModelPath;

  const started = Date.now();
  let extractor: FeatureExtractionPipeline;
  try {
    extractor = await transformers.pipeline('feature-extraction', modelReference, { dtype: 'fp32', device: 'cpu' });
  } catch (error) {
    throw loadError(error, { model: options.model, lookedIn, allowRemote });
  }

  const run = async (texts: string[]): Promise<Float32Array[]> => {
    const output = await extractor(texts, { pooling, normalize: true });
    const [rows, width] = output.dims;
    const data = output.data;
    if (rows !== texts.length || width === undefined || !(data instanceof Float32Array) || data.length !== texts.length * width) {
      throw new LlmError(
        `${provider}: ${modelName} returned a ${output.type} tensor of shape [${output.dims.join(', ')}] for ${texts.length} texts`,
        provider,
        'bad-response',
        false,
      );
    }
    return texts.map((_, row) => data.slice(row * width, (row + 1) * width));
  };

  let dimension: number;
  try {
    const [probe] = await run([probeText]);
    dimension = probe!.length;
  } catch (error) {
    await extractor.dispose();
    throw new ConfigError('memory.embedder.model', `a feature-extraction model ("${options.model}" loaded from ${lookedIn} but could not embed: ${describeError(error)})`, settingsSource);
  }
  if (options.dimension !== undefined && options.dimension !== dimension) {
    await extractor.dispose();
    throw new ConfigError(
      'memory.embedder.dimension',
      `${dimension} for model "${options.model}" (its vectors have ${dimension} numbers; the setting says ${options.dimension}) — remove the setting or change it`,
      settingsSource,
    );
  }
  logger.info('local embedding model loaded', { model: modelName, dimension, pooling, milliseconds: Date.now() - started });

  return {
    id: `${provider}:${modelName}:${dimension}`,
    dimension,
    async embed(texts, embedOptions) {
      const signal = embedOptions?.signal;
      const prefix = embedOptions?.purpose === 'query' ? prefixes.query : prefixes.document;
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        // One forward pass cannot be interrupted, so a cancel takes effect between batches.
        signal?.throwIfAborted();
        const batch = texts.slice(start, start + batchSize).map((text) => prefix + text);
        try {
          vectors.push(...(await run(batch)));
        } catch (error) {
          if (error instanceof LlmError) throw error;
          throw new LlmError(`${provider}: ${modelName} failed to embed: ${describeError(error)}`, provider, 'bad-response', false, undefined, undefined, { cause: error });
        }
      }
      signal?.throwIfAborted();
      return vectors;
    },
  };
}

/** A load failure as a ConfigError that says where the model was expected, without the library's stack. */
function loadError(error: unknown, where: { model: string; lookedIn: string; allowRemote: boolean }): ConfigError {
  const message = describeError(error);
  const missing = (error instanceof Error && error.name === 'ModelFileNotFoundError') || /not found locally|could not locate file/i.test(message);
  if (missing) {
    const file = /at "([^"]+)"/.exec(message)?.[1];
    const remote = where.allowRemote
      ? 'memory.embedder.allowRemote is on, but the model hub did not have it either'
      : 'memory.embedder.allowRemote is off, so nothing was downloaded';
    return new ConfigError(
      'memory.embedder.model',
      `a model folder with config.json, tokenizer.json and onnx/model.onnx for "${where.model}"; looked in ${where.lookedIn}${file ? ` (missing ${file})` : ''}; ${remote}`,
      settingsSource,
    );
  }
  return new ConfigError('memory.embedder.model', `a loadable ONNX model for "${where.model}" (from ${where.lookedIn}): ${message}`, settingsSource);
}
