/** The model-free embedder: unit vectors, deterministic, related texts nearer than unrelated ones in both languages. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { createBuiltinEmbedder } from '../src/llm/builtin/ngram-embedder.js';
import { createEmbedder } from '../src/memory/create-embedder.js';
import { embedderSettingsSchema } from '../src/memory/settings.js';

const cosine = (left: Float32Array, right: Float32Array) => left.reduce((sum, value, index) => sum + value * right[index]!, 0);
const norm = (vector: Float32Array) => Math.sqrt(cosine(vector, vector));

describe('builtin n-gram embedder', () => {
  const embedder = createBuiltinEmbedder();

  it('names its scheme and dimension, and gives unit vectors of that length', async () => {
    expect(embedder.id).toBe('builtin:ngram-v1:384');
    expect(createBuiltinEmbedder({ dimension: 128 }).id).toBe('builtin:ngram-v1:128');
    const vectors = await embedder.embed(['我的猫叫团子', 'My cat is called Mochi', '', '……!!', '😀']);
    for (const vector of vectors) {
      expect(vector).toHaveLength(384);
      expect(vector.every(Number.isFinite)).toBe(true);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
  });

  it('is deterministic', async () => {
    const [first] = await embedder.embed(['周末想去江边走走']);
    const [second] = await createBuiltinEmbedder().embed(['周末想去江边走走']);
    expect(Array.from(first!)).toEqual(Array.from(second!));
  });

  it('puts related Chinese texts nearer than unrelated ones', async () => {
    const [cat, catAgain, exam] = await embedder.embed(['我的猫叫团子', '团子是我养的猫', '明天要考试']);
    expect(cosine(cat!, catAgain!)).toBeGreaterThan(cosine(cat!, exam!) + 0.15);
  });

  it('puts related English texts nearer than unrelated ones, word forms included', async () => {
    const [marathon, running, recipe] = await embedder.embed([
      'I am training for the Boston marathon',
      'How is your marathon training going?',
      'The soup recipe needs more garlic',
    ]);
    expect(cosine(marathon!, running!)).toBeGreaterThan(cosine(marathon!, recipe!) + 0.15);
    const [cats, cat, dogs] = await embedder.embed(['cats', 'cat', 'dogs']);
    expect(cosine(cats!, cat!)).toBeGreaterThan(cosine(cats!, dogs!));
  });

  it('lets function words count for little', async () => {
    const [withFunctionWords, bare, other] = await embedder.embed(['what did I tell you about the violin', 'violin', 'what did I tell you about the weather']);
    expect(cosine(withFunctionWords!, bare!)).toBeGreaterThan(0.5);
    expect(cosine(withFunctionWords!, other!)).toBeLessThan(cosine(withFunctionWords!, bare!) + 0.1);
  });

  it('refuses an unusable dimension with the config key', () => {
    expect(() => createBuiltinEmbedder({ dimension: 3 })).toThrow(ConfigError);
    expect(() => createBuiltinEmbedder({ dimension: 3 })).toThrow(/memory\.embedder\.dimension/);
  });

  it('stops when aborted', async () => {
    await expect(embedder.embed(['hello'], { signal: AbortSignal.abort() })).rejects.toThrow();
  });

  it('is what createEmbedder builds by default, without loading onnxruntime', async () => {
    const embedder = await createEmbedder(embedderSettingsSchema.parse({}));
    expect(embedder.id).toBe('builtin:ngram-v1:384');
    await embedder.embed(['你好']);
    // the native ONNX Runtime binding is a shared object: loading the transformers library would list it here
    const report = process.report.getReport() as unknown as { sharedObjects: string[] };
    expect(report.sharedObjects.some((file) => /onnxruntime/i.test(file))).toBe(false);
  });
});
