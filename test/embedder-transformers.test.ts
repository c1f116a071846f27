/**
 * The local transformers.js embedder, on a tiny BERT-shaped model written by the test (no hub is reachable): the
 * vectors must be the normalized mean of the model's token rows, computed here by hand.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { createTransformersEmbedder } from '../src/llm/local/transformers-embedder.js';
import { createEmbedder } from '../src/memory/create-embedder.js';
import { embedderSettingsSchema } from '../src/memory/settings.js';
import { tinyBertTypeRow, tinyBertVocabulary, tinyBertWordRow, writeTinyBertModel } from './helpers/tiny-bert.js';

const dimension = 8;
const words = ['hello', 'world', 'again', 'my', 'cat', '##s', 'is', 'called', 'mochi', 'query', 'passage', ':', '猫', '团', '子'];
const vocabulary = tinyBertVocabulary(words);

/** What the model should give for these tokens (the tokenizer's pieces, without [CLS]/[SEP]). */
function expectedVector(tokens: readonly string[], pooling: 'mean' | 'cls' = 'mean'): Float32Array {
  const ids = ['[CLS]', ...tokens, '[SEP]'].map((token) => {
    const id = vocabulary.indexOf(token);
    return id >= 0 ? id : vocabulary.indexOf('[UNK]');
  });
  const pooled = ids.slice(0, pooling === 'cls' ? 1 : ids.length);
  const sum = new Float64Array(dimension);
  const typeRow = tinyBertTypeRow(0, dimension);
  for (const id of pooled) {
    const wordRow = tinyBertWordRow(id, dimension);
    // float32 as the model adds them
    for (let index = 0; index < dimension; index++) sum[index]! += Math.fround(wordRow[index]! + typeRow[index]!);
  }
  const norm = Math.hypot(...sum);
  return Float32Array.from(sum, (value) => value / norm);
}

function expectClose(actual: Float32Array | undefined, expected: Float32Array): void {
  expect(actual).toBeDefined();
  expect(actual).toHaveLength(expected.length);
  for (let index = 0; index < expected.length; index++) expect(Math.abs(actual![index]! - expected[index]!)).toBeLessThan(1e-5);
}

let root: string;
let modelFolder: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'omoide-transformers-'));
  modelFolder = await writeTinyBertModel(join(root, 'tiny-bert'), { dimension, vocab: words });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('transformers embedder', () => {
  it('loads a model folder, learns its dimension and gives the normalized mean of the token rows, in order', async () => {
    const embedder = await createTransformersEmbedder({ model: modelFolder, batchSize: 2 });
    expect(embedder.id).toBe(`transformers:tiny-bert:${dimension}`);
    expect(embedder.dimension).toBe(dimension);
    // different lengths in one batch: padding must not leak into the mean; 5 texts in batches of 2
    const texts = ['hello', 'hello world again', 'My cats is called Mochi', '我的猫叫团子', 'zebra'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    expectClose(vectors[0], expectedVector(['hello']));
    expectClose(vectors[1], expectedVector(['hello', 'world', 'again']));
    expectClose(vectors[2], expectedVector(['my', 'cat', '##s', 'is', 'called', 'mochi']));
    expectClose(vectors[3], expectedVector(['[UNK]', '[UNK]', '猫', '[UNK]', '团', '子']));
    expectClose(vectors[4], expectedVector(['[UNK]']));
    for (const vector of vectors) expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    expect(vectors[0]).not.toEqual(vectors[4]);
    expect(await embedder.embed([])).toEqual([]);
  });

  it('finds a hub id under localModelPath and names it by id', async () => {
    const hubRoot = join(root, 'hub');
    await writeTinyBertModel(join(hubRoot, 'acme', 'tiny-bert'), { dimension, vocab: words });
    const embedder = await createTransformersEmbedder({ model: 'acme/tiny-bert', localModelPath: hubRoot, dimension });
    expect(embedder.id).toBe(`transformers:acme/tiny-bert:${dimension}`);
    expectClose((await embedder.embed(['hello world']))[0], expectedVector(['hello', 'world']));
  });

  it('gives e5 models their query / passage prefixes', async () => {
    const e5Folder = await writeTinyBertModel(join(root, 'tiny-e5-small'), { dimension, vocab: words });
    const embedder = await createTransformersEmbedder({ model: e5Folder });
    expectClose((await embedder.embed(['hello'], { purpose: 'query' }))[0], expectedVector(['query', ':', 'hello']));
    expectClose((await embedder.embed(['hello'], { purpose: 'document' }))[0], expectedVector(['passage', ':', 'hello']));
    expectClose((await embedder.embed(['hello']))[0], expectedVector(['passage', ':', 'hello']));
  });

  it('pools the [CLS] row when asked', async () => {
    const embedder = await createTransformersEmbedder({ model: modelFolder, pooling: 'cls' });
    expectClose((await embedder.embed(['hello world']))[0], expectedVector(['hello', 'world'], 'cls'));
  });

  it('says where it looked when the model is missing and downloads are off', async () => {
    const emptyRoot = await mkdtemp(join(root, 'empty-'));
    const attempt = createTransformersEmbedder({ model: 'Xenova/multilingual-e5-small', localModelPath: emptyRoot });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(join(emptyRoot, 'Xenova/multilingual-e5-small'));
    await expect(attempt).rejects.toThrow(/allowRemote is off/);
    await expect(createTransformersEmbedder({ model: join(root, 'no-such-model') })).rejects.toThrow(/memory\.embedder\.model.*no-such-model/);
  });

  it('refuses a configured dimension the model does not have', async () => {
    const attempt = createTransformersEmbedder({ model: modelFolder, dimension: 384 });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/memory\.embedder\.dimension/);
  });

  it('stops between batches when aborted', async () => {
    const embedder = await createTransformersEmbedder({ model: modelFolder, batchSize: 1 });
    await expect(embedder.embed(['hello', 'world'], { signal: AbortSignal.abort() })).rejects.toThrow();
  });

  it('is what createEmbedder builds for provider "transformers"', async () => {
    const settings = embedderSettingsSchema.parse({ provider: 'transformers', model: 'tiny-bert', localModelPath: root });
    const embedder = await createEmbedder(settings);
    expect(embedder.id).toBe(`transformers:tiny-bert:${dimension}`);
    expectClose((await embedder.embed(['mochi']))[0], expectedVector(['mochi']));
  });
});
