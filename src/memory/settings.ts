/**
 * Memory settings. The lead mounts `memorySettingsSchema` at key `memory:` in src/config.ts with `.prefault({})`,
 * so every field has a default and an empty config is valid.
 */
import { z } from 'zod';
import { positiveInt, positiveNumber, timeZoneSchema } from '../util/schema.js';

export { memoryKinds, type MemoryKind } from '../store/memory-store.js';

const unit = z.number().min(0).max(1);

export const embedderSettingsSchema = z
  .object({
    /** builtin: offline character n-grams, no download; transformers: a local ONNX model; openai / ollama: a server */
    provider: z.enum(['builtin', 'transformers', 'openai', 'ollama']).default('builtin'),
    /** the model name or hub id; each provider has a default */
    model: z.string().min(1).optional(),
    /** vector length; builtin default 384, remote ones learn it from the server when absent */
    dimension: positiveInt.optional(),
    /** transformers: a folder holding <model>/ (config.json, tokenizer.json, onnx/model.onnx) */
    localModelPath: z.string().min(1).optional(),
    /** transformers: allow downloading from the model hub (off by default: everything stays on this machine) */
    allowRemote: z.boolean().default(false),
    /** openai: defaults to the chat model's baseURL */
    baseURL: z.string().url().optional(),
    /** openai: defaults to the chat model's apiKey */
    apiKey: z.string().min(1).optional(),
    /** ollama: defaults to the chat model's host */
    host: z.string().url().optional(),
    /** texts per embedding request */
    batchSize: positiveInt.optional(),
  })
  .strict();

export const retrievalSettingsSchema = z
  .object({
    /** how many candidates each of vector KNN and BM25 contributes before fusion */
    candidates: positiveInt.default(30),
    /**
     * vector search re-scores this many nearest by SimHash code (never fewer than 2 × candidates). On real dialogue,
     * 10k memories in one scope (npm run bench:memory, b'), 60 keeps 98% of an exact scan's top 5 and 94% of its
     * top 10; 100 keeps 99% and 97% for ~0.7 ms more; 200, 99% and 99% for ~2.5 ms more.
     */
    vectorShortlist: positiveInt.default(60),
    /** reciprocal rank fusion constant: 1 / (rrfK + rank) */
    rrfK: positiveNumber.default(60),
    /** memories offered to the prompt per turn (the prompt's token budget may keep fewer) */
    limit: positiveInt.default(8),
    /** a vector-only hit below this cosine similarity is dropped (a BM25 hit is always kept) */
    minVectorSimilarity: z.number().min(-1).max(1).default(0.2),
    /** two memories this similar (character-bigram Jaccard) count as the same; the better-ranked one stays */
    duplicateSimilarity: unit.default(0.85),
    /** a date question ranks at most this many memories of its range */
    maxRangeCandidates: positiveInt.default(500),
    /** how many days until the recency bonus falls to 1/e */
    recencyDays: positiveNumber.default(30),
    // Relevance dominates; retention, recency and importance only nudge. Measured on MemoryBank's probing questions
    // (npm run bench:memory): a retention floor of 0.5 with a 0.1 recency bonus kept recall@5 at 0.66, because a
    // person asking about last week is asking about exactly the memories that have faded. Forgetting is the
    // consolidation's forgetting pass, not the ranking's job.
    weights: z
      .object({
        /** the share of relevance an utterly faded memory keeps: old memories are damped, never zeroed */
        retentionFloor: unit.default(0.9),
        /** up to this fraction added for a memory from today */
        recency: z.number().min(0).max(2).default(0),
        /** up to this fraction added for an importance of 1 */
        importance: z.number().min(0).max(2).default(0.1),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** c in R = e^(−t / (c·S)), in days per unit of strength. */
export const decaySettingsSchema = z
  .object({
    // MemoryBank's intended e^(−t/5S): an unrecalled turn drops under a 0.05 retention after about 15 days
    turn: positiveNumber.default(5),
    event: positiveNumber.default(14),
    daily_summary: positiveNumber.default(30),
    fact: positiveNumber.default(60),
    portrait: positiveNumber.default(365),
    self_concept: positiveNumber.default(365),
  })
  .strict();

export const memorySettingsSchema = z
  .object({
    /** per-guild: a user's memories stay in the server they were made in; global: they follow the user everywhere */
    scope: z.enum(['per-guild', 'global']).default('per-guild'),
    /** IANA timezone for memory days and date questions; defaults to the system's */
    timezone: timeZoneSchema,
    embedder: embedderSettingsSchema.prefault({}),
    retrieval: retrievalSettingsSchema.prefault({}),
    decay: decaySettingsSchema.prefault({}),
    /**
     * with `scope: global`, whether what a person said in private (a DM, the terminal) may be recalled in a group's
     * prompt; off: it stays between the person and the character
     */
    privateInGroups: z.boolean().default(false),
    /** longer memory text is cut to this many characters (with an ellipsis) */
    maxMemoryChars: positiveInt.default(2000),
    /** memories per batch when re-embedding into a new embedding space */
    reembedBatchSize: positiveInt.default(64),
  })
  .strict();

export type MemorySettings = z.infer<typeof memorySettingsSchema>;
export type MemorySettingsInput = z.input<typeof memorySettingsSchema>;
export type EmbedderSettings = z.infer<typeof embedderSettingsSchema>;
export type RetrievalSettings = z.infer<typeof retrievalSettingsSchema>;
export type DecaySettings = z.infer<typeof decaySettingsSchema>;
