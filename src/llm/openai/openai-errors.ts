/** Maps what the `openai` SDK throws into LlmError: status, kind, retryable, Retry-After; never the API key. */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import {
  classifyHttpStatus,
  failureMessage,
  findConnectionCode,
  parseRetryAfterSeconds,
  redactSecret,
  type RetryContext,
} from '../retry.js';
import { LlmError } from '../types.js';

export function mapOpenAiError(
  error: unknown,
  context: Pick<RetryContext, 'provider' | 'operation' | 'endpoint'>,
  apiKey: string,
): LlmError {
  const message = (detail: string): string => failureMessage(context, redactSecret(detail, apiKey));
  // The SDK's error keeps the server's words; a server that echoes the key would leak it through `cause`.
  const cause = error instanceof Error && apiKey.length >= 4 && error.message.includes(apiKey) ? undefined : error;
  const make = (detail: string, kind: LlmError['kind'], retryable: boolean, status?: number, retryAfter?: number) =>
    new LlmError(message(detail), context.provider, kind, retryable, status, retryAfter, cause ? { cause } : undefined);

  if (error instanceof APIConnectionTimeoutError) return make('timed out', 'timeout', true);
  if (error instanceof APIUserAbortError) return make('cancelled', 'aborted', false);
  if (error instanceof APIConnectionError) {
    const code = findConnectionCode(error);
    return make(`cannot connect (${code ?? error.message})`, 'connection', true);
  }
  if (error instanceof APIError) {
    if (error.status === undefined) {
      // An error object sent inside an otherwise successful stream: the provider failed mid-answer.
      return make(`server reported an error: ${error.message}`, 'server', true);
    }
    const { kind, retryable } = classifyHttpStatus(error.status);
    return make(`HTTP ${error.message}`, kind, retryable, error.status, parseRetryAfterSeconds(error.headers));
  }
  const code = findConnectionCode(error);
  if (code) return make(`connection lost (${code})`, 'connection', true);
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return make(`unexpected response: ${detail}`, 'bad-response', false);
}
