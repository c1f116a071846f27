/**
 * Consolidation settings. The lead mounts `consolidationSettingsSchema` at key `consolidation:` in src/config.ts with
 * `.prefault({})`, so every field has a default and an empty config is valid.
 */
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { positiveInt, timeZoneSchema } from '../util/schema.js';

export const consolidationSettingsSchema = z
  .object({
    /** run the scheduled job at all (`omoide consolidate` works either way) */
    enabled: z.boolean().default(true),
    /** node-cron expression (5 fields, or 6 with seconds) for how often to look for closed sessions */
    schedule: z
      .string()
      .refine((value) => isValidCron(value), { message: 'a cron expression such as "*/15 * * * *"' })
      .default('*/15 * * * *'),
    /** IANA timezone the schedule is read in */
    timezone: timeZoneSchema,
    /** a conversation's session closes after this many hours without a message */
    sessionIdleHours: z.number().positive().max(24 * 30).default(6),
    /** LLM requests in flight at once (one scope's jobs always run one after another) */
    concurrency: positiveInt.max(64).default(2),
    /** at most this many LLM requests in any minute; 0 = no limit */
    requestsPerMinute: z.number().int().min(0).default(60),
    /** a session's dialogue is summarized in rolling chunks of about this many tokens once it grows past it */
    rollingSummaryTokens: positiveInt.min(200).default(4000),
    /** dialogue tokens one prompt may carry; longer days keep their end (and the session's rolling summary) */
    maxDialogueTokens: positiveInt.min(200).default(6000),
    /** memories whose retention e^(−t/(c·S)) fell below this are marked forgotten (restorable, never deleted) */
    forgetThreshold: z.number().min(0).max(1).default(0.05),
    /** LLM tries per job, across runs; a malformed answer is retried at once, an unreachable model at the next run */
    maxAttempts: positiveInt.max(20).default(3),
  })
  .strict();

export type ConsolidationSettings = z.infer<typeof consolidationSettingsSchema>;
export type ConsolidationSettingsInput = z.input<typeof consolidationSettingsSchema>;
