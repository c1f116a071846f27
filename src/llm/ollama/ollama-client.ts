/**
 * The `ollama` client has no per-request abort or timeout (only `abort()` of every stream at once), so each attempt
 * gets its own client whose `fetch` is bound to that attempt's signal. A client is a few fields: cheap to make.
 * The same fetch wrapper remembers Retry-After (the SDK's ResponseError drops headers) and turns a non-JSON error
 * body into JSON, which keeps the SDK from printing to the console.
 */
import { Ollama } from 'ollama';
import { ConfigError } from '../../core/errors.js';
import { registerSecret } from '../../util/logger.js';
import {
  classifyHttpStatus,
  describeEndpoint,
  failureMessage,
  findConnectionCode,
  parseRetryAfterSeconds,
  type RetryContext,
} from '../retry.js';
import { LlmError } from '../types.js';

export const defaultOllamaHost = 'http://127.0.0.1:11434';

export interface OllamaAttempt {
  readonly client: Ollama;
  /** Retry-After of the last failed response, in seconds. */
  retryAfterSeconds(): number | undefined;
}

/** Host as the SDK will use it (a bare "host:port" means http), and its description for logs. */
export function resolveOllamaHost(host: string | undefined): { host: string; endpoint: string } {
  const raw = host?.trim() || defaultOllamaHost;
  const withProtocol = raw.includes('://') ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withProtocol);
  } catch {
    // The value may hold credentials, so the error names the key, not the value.
    throw new ConfigError('llm.host', 'an http:// or https:// URL such as http://127.0.0.1:11434', 'llm settings');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('llm.host', 'an http:// or https:// URL such as http://127.0.0.1:11434', 'llm settings');
  }
  // A proxy in front of Ollama may want basic auth in the URL; keep that password out of every log line.
  if (url.password) registerSecret(decodeURIComponent(url.password));
  return { host: withProtocol, endpoint: describeEndpoint(url) };
}

export function openOllamaAttempt(host: string, signal: AbortSignal): OllamaAttempt {
  let retryAfter: number | undefined;
  const boundFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, {
      ...init,
      signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
    });
    if (response.ok) return response;
    retryAfter = parseRetryAfterSeconds(response.headers);
    if (response.headers.get('content-type')?.includes('application/json')) return response;
    const text = await response.text();
    return new Response(JSON.stringify({ error: text || `HTTP ${response.status}` }), {
      status: response.status,
      statusText: response.statusText,
      headers: { 'content-type': 'application/json' },
    });
  };
  const client = new Ollama({ host, fetch: boundFetch });
  return { client, retryAfterSeconds: () => retryAfter };
}

/** Maps what the `ollama` SDK throws into LlmError. */
export function mapOllamaError(
  error: unknown,
  context: Pick<RetryContext, 'provider' | 'operation' | 'endpoint'>,
  retryAfterSeconds: number | undefined,
): LlmError {
  const make = (detail: string, kind: LlmError['kind'], retryable: boolean, status?: number, retryAfter?: number) =>
    new LlmError(failureMessage(context, clip(detail)), context.provider, kind, retryable, status, retryAfter, {
      cause: error,
    });

  const status = responseStatus(error);
  if (status !== undefined) {
    const { kind, retryable } = classifyHttpStatus(status);
    return make(`HTTP ${status}: ${(error as Error).message}`, kind, retryable, status, retryAfterSeconds);
  }
  const code = findConnectionCode(error);
  if (code) return make(`cannot connect or connection lost (${code})`, 'connection', true);
  if (error instanceof Error && error.message === 'Did not receive done or success response in stream.') {
    return make('the stream ended before it was done', 'connection', true);
  }
  if (error instanceof TypeError || error instanceof SyntaxError || !(error instanceof Error)) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return make(`unexpected response: ${detail}`, 'bad-response', false);
  }
  // The SDK raises a plain Error for an {"error": ...} line inside a stream: the server failed mid-answer.
  return make(`server reported an error: ${error.message}`, 'server', true);
}

/** The SDK's ResponseError is not exported; recognise it by shape. */
function responseStatus(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== 'ResponseError') return undefined;
  const status = (error as { status_code?: unknown }).status_code;
  return typeof status === 'number' ? status : undefined;
}

function clip(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
