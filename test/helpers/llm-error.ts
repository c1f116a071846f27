import { expect } from 'vitest';
import { LlmError } from '../../src/llm/types.js';

/** The LlmError `promise` rejects with; a promise that resolves, or rejects with anything else, fails the test. */
export async function failureOf(promise: Promise<unknown>): Promise<LlmError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(LlmError);
  return error as LlmError;
}
