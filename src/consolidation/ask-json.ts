/**
 * The JSON repair loop every job kind asks through: ask the model for one JSON object; when the answer is malformed,
 * ask again with that answer and a note of what was wrong, until the job's tries run out. Tries are counted across
 * runs, so a job that keeps failing cannot ask forever. Any other error (the model unreachable, the run cancelled)
 * ends the loop at once: an unreachable model is the next run's to retry, not this loop's.
 */
import type { z } from 'zod';
import type { ChatMessage, ChatModel } from '../llm/types.js';
import { MalformedAnswerError, parseAnswer, repairMessage, type PromptLanguage } from './prompts.js';
import type { RateLimiter } from './rate-limit.js';

/** A job's tries, as its bookkeeping keeps them. */
export interface JobTries {
  /** tries used so far, in this run and earlier ones */
  readonly used: number;
  /** counts one more try; called before the request, so a crash during it still counts */
  record(): void;
  /** keeps what was wrong with a malformed answer */
  noteProblem(problem: string): void;
}

export interface JsonQuestion<T> {
  readonly schema: z.ZodType<T>;
  readonly prompt: readonly ChatMessage[];
  /** the language of the repair note */
  readonly language: PromptLanguage;
}

export interface AskJsonOptions {
  readonly chatModel: ChatModel;
  readonly limiter: RateLimiter;
  readonly maxAttempts: number;
  readonly tries: JobTries;
  readonly signal?: AbortSignal;
}

/** The validated answer; throws the last MalformedAnswerError once `maxAttempts` tries are used. */
export async function askJson<T>(question: JsonQuestion<T>, options: AskJsonOptions): Promise<T> {
  const { chatModel, limiter, maxAttempts, tries, signal } = options;
  let messages = question.prompt;
  let lastProblem: MalformedAnswerError | null = null;
  while (tries.used < maxAttempts) {
    await limiter.acquire(signal);
    tries.record();
    const result = await chatModel.generate({ messages, json: true, temperature: 0.3, ...(signal ? { signal } : {}) });
    try {
      return parseAnswer(question.schema, result.text);
    } catch (error) {
      if (!(error instanceof MalformedAnswerError)) throw error;
      lastProblem = error;
      tries.noteProblem(error.message);
      messages = [...question.prompt, { role: 'assistant', content: result.text }, repairMessage(question.language, error.message)];
    }
  }
  throw lastProblem ?? new MalformedAnswerError(`no tries left (${maxAttempts})`, '');
}
