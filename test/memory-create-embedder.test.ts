import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { createEmbedder } from '../src/memory/create-embedder.js';
import { embedderSettingsSchema, memorySettingsSchema } from '../src/memory/settings.js';
import { startFakeOllama, type FakeOllama } from './fakes/fake-ollama-server.js';
import { startFakeOpenAi, type FakeOpenAi } from './fakes/fake-openai-server.js';
import { openMemoryFixture, type MemoryFixture } from './memory-helpers.js';

let openai: FakeOpenAi | undefined;
let ollama: FakeOllama | undefined;
let fixture: MemoryFixture | undefined;
afterEach(async () => {
  await openai?.close();
  await ollama?.close();
  await fixture?.close();
  openai = ollama = fixture = undefined;
});

const retries = { timeoutMs: 2000, maxRetries: 0, retryBaseDelayMs: 1, retryMaxDelayMs: 1 };

describe('memory settings', () => {
  it('defaults everything, validates the timezone and refuses unknown keys', () => {
    const settings = memorySettingsSchema.parse({});
    expect(settings).toMatchObject({ scope: 'per-guild', embedder: { provider: 'builtin', allowRemote: false }, maxMemoryChars: 2000 });
    expect(settings.retrieval).toMatchObject({ candidates: 30, rrfK: 60 });
    expect(settings.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(memorySettingsSchema.safeParse({ timezone: 'Mars/Olympus' }).error?.issues[0]?.message).toMatch(/IANA timezone/);
    expect(memorySettingsSchema.safeParse({ retrieval: { candidatez: 3 } }).success).toBe(false);
    expect(memorySettingsSchema.safeParse({ scope: 'everywhere' }).success).toBe(false);
  });
});

describe('createEmbedder', () => {
  it('builds an OpenAI-compatible embedder that inherits the chat endpoint, and memory works through it', async () => {
    openai = await startFakeOpenAi({ embeddingDimension: 12 });
    const embedder = await createEmbedder(embedderSettingsSchema.parse({ provider: 'openai', dimension: 12 }), {
      baseURL: openai.url, apiKey: 'sk-embed-secret', ...retries,
    });
    expect(embedder).toMatchObject({ id: 'openai:text-embedding-3-small', dimension: 12 });
    fixture = openMemoryFixture('omoide-memory-openai-');
    const memory = fixture.memory(embedder);
    await memory.ensureEmbeddingSpace();
    const aki = { userId: fixture.user('aki'), characterId: 'juniper', guildId: null };
    await memory.remember({ scope: aki, kind: 'fact', content: 'Aki’s cat is called 团子', occurredAt: Date.UTC(2024, 4, 1) });
    const [hit] = (await memory.search(aki, '团子')).memories;
    expect(hit).toMatchObject({ record: { content: 'Aki’s cat is called 团子' }, vectorRank: 1, textRank: 1 });
    const bodies = openai.requests.filter((request) => request.path === '/v1/embeddings').map((request) => request.body as { model: string; input: string[] });
    expect(bodies.map((body) => body.input)).toEqual([['Aki’s cat is called 团子'], ['团子']]);
    expect(bodies[0]!.model).toBe('text-embedding-3-small');
  });

  it('builds an Ollama embedder that learns its dimension from the server', async () => {
    ollama = await startFakeOllama({ embeddingDimension: 6 });
    const embedder = await createEmbedder(embedderSettingsSchema.parse({ provider: 'ollama', host: ollama.url }), retries);
    expect(embedder).toMatchObject({ id: 'ollama:bge-m3', dimension: 6 });
    const [vector] = await embedder.embed(['hello']);
    expect(vector).toHaveLength(6);
  });

  it('loads the builtin embedder when this build has it, and says so clearly when not', async () => {
    const settings = embedderSettingsSchema.parse({ provider: 'builtin', dimension: 128 });
    if (existsSync(new URL('../src/llm/builtin/ngram-embedder.ts', import.meta.url))) {
      const embedder = await createEmbedder(settings);
      expect(embedder.id).toMatch(/^builtin:/);
      expect(embedder.dimension).toBe(128);
    } else {
      await expect(createEmbedder(settings)).rejects.toThrow(ConfigError);
    }
  });
});
