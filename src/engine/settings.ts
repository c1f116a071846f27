/**
 * The engine's settings: how the prompt is laid out (`prompt:` in config.yaml) and the reply language. Mounted by
 * src/config.ts; every field has a default, so an empty config is valid.
 */
import { z } from 'zod';
import { positiveInt } from '../util/schema.js';

export const budgetsSchema = z
  .object({
    system: positiveInt.default(1200),
    world: positiveInt.default(600),
    lorebook: positiveInt.default(600),
    portrait: positiveInt.default(400),
    memories: positiveInt.default(1500),
    scenes: positiveInt.default(1500),
    examples: positiveInt.default(600),
    history: positiveInt.default(3000),
    current: positiveInt.default(1000),
  })
  .strict();

export const promptSettingsSchema = z
  .object({
    historyMessages: positiveInt.default(40),
    /** longer incoming messages are cut to this many characters */
    maxMessageChars: positiveInt.default(4000),
    budgets: budgetsSchema.prefault({}),
  })
  .strict();

/** Token budget per prompt section (README: "The prompt"). */
export type PromptBudgets = z.infer<typeof budgetsSchema>;
export type PromptSettings = z.infer<typeof promptSettingsSchema>;
