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
const bgeInstruction = '为这个句子生成表示以用于检索相关文章：';
const words = [
  ...new Set(['hello', 'world', 'again', 'my', 'cat', '##s', 'is', 'called', 'mochi', 'query', 'passage', ':', '猫', '团', '子', ...bgeInstruction]),
];
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
    // each vector owns its memory: a caller may keep one without pinning (or seeing changes to) a whole batch
    expect(new Set(vectors.map((vector) => vector.buffer)).size).toBe(vectors.length);
    for (const vector of vectors) expect(vector.byteLength).toBe(vector.buffer.byteLength);
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

  it('puts the bge Chinese instruction before queries only, and pools [CLS] for bge by default', async () => {
    const bgeFolder = await writeTinyBertModel(join(root, 'tiny-bge-small-zh'), { dimension, vocab: words });
    // mean pooling here so the instruction's tokens show in the vector ([CLS] alone does not see context in this model)
    const meanPooled = await createTransformersEmbedder({ model: bgeFolder, pooling: 'mean' });
    const instructionTokens = Array.from(bgeInstruction);
    expectClose((await meanPooled.embed(['猫'], { purpose: 'query' }))[0], expectedVector([...instructionTokens, '猫']));
    expectClose((await meanPooled.embed(['猫'], { purpose: 'document' }))[0], expectedVector(['猫']));
    const byDefault = await createTransformersEmbedder({ model: bgeFolder });
    expectClose((await byDefault.embed(['hello world']))[0], expectedVector(['hello', 'world'], 'cls'));
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

  it('rejects an aborted call, also one aborted after its first batch began', async () => {
    const embedder = await createTransformersEmbedder({ model: modelFolder, batchSize: 1 });
    await expect(embedder.embed(['hello', 'world'], { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
    // embed() starts its first batch before returning, so this abort lands mid-call (the check runs between batches)
    const controller = new AbortController();
    const pending = embedder.embed(['hello', 'world', 'again'], { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    // and the embedder still works afterwards
    expectClose((await embedder.embed(['hello']))[0], expectedVector(['hello']));
  });

  it('is what createEmbedder builds for provider "transformers"', async () => {
    const byFolder = await createEmbedder(
      embedderSettingsSchema.parse({ provider: 'transformers', model: modelFolder, allowRemote: false, dimension, batchSize: 2 }),
    );
    expect(byFolder.id).toBe(`transformers:tiny-bert:${dimension}`);
    expect(byFolder.dimension).toBe(dimension);
    const vectors = await byFolder.embed(['mochi', 'hello', 'cat']);
    expectClose(vectors[0], expectedVector(['mochi']));
    expectClose(vectors[2], expectedVector(['cat']));

    const byId = await createEmbedder(embedderSettingsSchema.parse({ provider: 'transformers', model: 'tiny-bert', localModelPath: root }));
    expect(byId.id).toBe(`transformers:tiny-bert:${dimension}`);
    expectClose((await byId.embed(['mochi']))[0], expectedVector(['mochi']));

    const wrongDimension = embedderSettingsSchema.parse({ provider: 'transformers', model: modelFolder, dimension: 384 });
    await expect(createEmbedder(wrongDimension)).rejects.toMatchObject({ name: 'ConfigError', key: 'memory.embedder.dimension' });
  });
});
