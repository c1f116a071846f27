/**
 * One failure policy for every remote model (OpenAI-compatible and Ollama), so both behave alike: a per-attempt
 * timeout, bounded retries with exponential backoff and jitter, Retry-After honoured, cancellation that also ends
 * a backoff wait, and errors mapped into LlmError without secrets. The SDKs' own retries are switched off.
 *
 * Timeouts: for a plain call `timeoutMs` bounds the whole attempt. For a stream it bounds each wait for the next
 * chunk (the first one included), so a long answer that keeps flowing is never cut off, but a stalled one is.
 * Streams are retried only until they have yielded something: text already shown cannot be taken back.
 */
import type { Logger } from '../util/logger.js';
import { LlmError, type LlmFailureKind } from './types.js';

/** The retry and timeout knobs shared by every remote chat model and embedder. */
export interface RemoteCallSettings {
  /** Per attempt; see the file comment for what it bounds in a stream. */
  readonly timeoutMs: number;
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
}

/** What a caller may observe about retries (metrics, tests); never holds prompt text. */
export interface RetryEvent {
  readonly provider: string;
  readonly operation: string;
  /** 1-based number of the attempt that just failed. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: LlmError;
}

/** Optional hooks for a model or embedder factory. */
export interface RetryHooks {
  readonly onRetry?: (event: RetryEvent) => void;
  /** Source of jitter in [0, 1); tests pin it. */
  readonly random?: () => number;
}

export interface RetryContext extends RetryHooks {
  readonly provider: string;
  /** 'chat', 'chat-stream', 'embed': shown in logs and messages. */
  readonly operation: string;
  /** Where the model lives, already free of credentials. */
  readonly endpoint: string;
  readonly settings: RemoteCallSettings;
  readonly signal?: AbortSignal;
  readonly logger: Logger;
  /** Maps whatever the SDK threw into an LlmError (only called when neither the caller nor our timer ended it). */
  readonly mapError: (error: unknown) => LlmError;
}

/** A bounded call with retries. `run` receives the signal of the current attempt and must pass it to the SDK. */
export async function retryCall<T>(context: RetryContext, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    throwIfCallerAborted(context);
    const scope = new AttemptScope(context);
    let failure: LlmError;
    scope.arm();
    try {
      return await run(scope.signal);
    } catch (thrown) {
      failure = scope.toLlmError(thrown);
    } finally {
      scope.dispose();
    }
    await backOffOrThrow(context, attempt, failure);
  }
}

/**
 * A stream with retries for the connection / first-chunk phase only. Once a part has been yielded, a failure is
 * raised to the consumer as it is. Breaking out of the loop closes the connection.
 * `open` may call `progress()` for wire chunks it does not yield (a role-only chunk, a reasoning model's thinking),
 * so that a server that is busy but alive is not timed out.
 */
export async function* retryStream<T>(
  context: RetryContext,
  open: (signal: AbortSignal, progress: () => void) => AsyncIterable<T>,
): AsyncGenerator<T, void, undefined> {
  for (let attempt = 1; ; attempt++) {
    throwIfCallerAborted(context);
    const scope = new AttemptScope(context);
    let iterator: AsyncIterator<T> | undefined;
    let yielded = false;
    let settled = false;
    let failure: LlmError;
    try {
      iterator = open(scope.signal, () => scope.rearm())[Symbol.asyncIterator]();
      for (;;) {
        scope.arm();
        let next: IteratorResult<T>;
        try {
          next = await iterator.next();
        } finally {
          scope.disarm();
        }
        if (next.done) {
          settled = true;
          return;
        }
        yielded = true;
        yield next.value;
      }
    } catch (thrown) {
      settled = true;
      failure = scope.toLlmError(thrown);
      if (yielded) {
        logFailure(context, attempt, failure, 'failed after output began, not retried');
        throw failure;
      }
    } finally {
      if (!settled) await closeQuietly(context, iterator);
      scope.dispose();
    }
    await backOffOrThrow(context, attempt, failure);
  }
}

/** Delay before the next attempt: Retry-After when the server said (capped), else exponential with equal jitter. */
export function computeRetryDelayMs(
  failedAttempt: number,
  settings: Pick<RemoteCallSettings, 'retryBaseDelayMs' | 'retryMaxDelayMs'>,
  error: LlmError,
  random: () => number = Math.random,
): number {
  const cap = Math.max(0, settings.retryMaxDelayMs);
  if (error.retryAfterSeconds !== undefined) return Math.min(cap, Math.ceil(error.retryAfterSeconds * 1000));
  const exponential = Math.min(cap, Math.max(0, settings.retryBaseDelayMs) * 2 ** (failedAttempt - 1));
  // Half fixed, half random: many clients spread out after a shared outage, yet no retry collapses to zero wait.
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** Retry-After as seconds: a number of seconds or an HTTP date; `retry-after-ms` (OpenAI's own) wins when present. */
export function parseRetryAfterSeconds(
  headers: { get(name: string): string | null } | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const milliseconds = Number(headers.get('retry-after-ms')?.trim() || Number.NaN);
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds / 1000;
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/** How an HTTP status should be treated: 408/429/5xx may pass, other 4xx will not. */
export function classifyHttpStatus(status: number): { kind: LlmFailureKind; retryable: boolean } {
  if (status === 408) return { kind: 'timeout', retryable: true };
  if (status === 429) return { kind: 'rate-limit', retryable: true };
  if (status >= 500) return { kind: 'server', retryable: true };
  if (status >= 400) return { kind: 'client', retryable: false };
  return { kind: 'bad-response', retryable: false };
}

const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The network error code (ECONNREFUSED, UND_ERR_SOCKET, ...) somewhere in an error's cause chain, if any. */
export function findConnectionCode(error: unknown): string | undefined {
  let current: unknown = error;
  let fetchFailed = false;
  for (let depth = 0; depth < 6 && current instanceof Object; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && connectionCodes.has(code)) return code;
    // undici reports a dropped body as TypeError('terminated') whose cause is the socket error.
    if (current instanceof TypeError && current.message === 'terminated') return 'UND_ERR_SOCKET';
    // 'fetch failed' is always a network-level failure, even when its cause has no known code (e.g. a blocked port).
    if (current instanceof TypeError && current.message === 'fetch failed') fetchFailed = true;
    current = (current as { cause?: unknown }).cause;
  }
  return fetchFailed ? 'FETCH_FAILED' : undefined;
}

/** Removes a secret from text that may have come from a server (some echo the key back in a 401 body). */
export function redactSecret(text: string, secret: string | undefined): string {
  const clipped = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  return secret && secret.length >= 4 ? clipped.split(secret).join('***') : clipped;
}

/** A URL fit for logs and hints: no user, password, query or fragment. */
export function describeEndpoint(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  copy.search = '';
  copy.hash = '';
  return copy.href.replace(/\/$/, '');
}

/** Builds the message every provider uses: "<provider> <operation> at <endpoint>: <detail>". */
export function failureMessage(
  context: Pick<RetryContext, 'provider' | 'operation' | 'endpoint'>,
  detail: string,
): string {
  return `${context.provider} ${context.operation} at ${context.endpoint}: ${detail}`;
}

/** Sleeps, unless the signal fires first: then rejects with an 'aborted' LlmError. */
export function sleepUnlessAborted(
  milliseconds: number,
  signal: AbortSignal | undefined,
  abortedError: () => LlmError,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortedError(context: RetryContext): LlmError {
  return new LlmError(failureMessage(context, 'cancelled'), context.provider, 'aborted', false);
}

function throwIfCallerAborted(context: RetryContext): void {
  if (context.signal?.aborted) throw abortedError(context);
}

async function backOffOrThrow(context: RetryContext, attempt: number, failure: LlmError): Promise<void> {
  if (failure.kind === 'aborted') throw failure;
  if (!failure.retryable || attempt > context.settings.maxRetries) {
    logFailure(context, attempt, failure, failure.retryable ? 'giving up, retries exhausted' : 'not retryable');
    throw failure;
  }
  const delayMs = computeRetryDelayMs(attempt, context.settings, failure, context.random);
  context.logger.warn('retrying', { ...failureFields(context, attempt, failure), delayMs });
  context.onRetry?.({ provider: context.provider, operation: context.operation, attempt, delayMs, error: failure });
  await sleepUnlessAborted(delayMs, context.signal, () => abortedError(context));
}

function logFailure(context: RetryContext, attempt: number, failure: LlmError, outcome: string): void {
  if (failure.kind === 'aborted') return;
  context.logger.warn(outcome, failureFields(context, attempt, failure));
}

/** Log fields of a failure: never the prompt, and the message is already free of the key. */
function failureFields(context: RetryContext, attempt: number, failure: LlmError): Record<string, unknown> {
  return {
    operation: context.operation,
    attempt,
    kind: failure.kind,
    ...(failure.status !== undefined ? { status: failure.status } : {}),
    error: failure.message,
  };
}

async function closeQuietly<T>(context: RetryContext, iterator: AsyncIterator<T> | undefined): Promise<void> {
  try {
    await iterator?.return?.();
  } catch (error) {
    // The consumer already stopped listening; a failure while hanging up changes nothing for it.
    context.logger.debug('error while closing an abandoned stream', { operation: context.operation, error });
  }
}

/**
 * One attempt's signal: fires when the caller aborts or our timer runs out, and remembers which, so the SDK's
 * own abort error can be reported as 'aborted' or 'timeout'.
 */
class AttemptScope {
  private readonly controller = new AbortController();
  private endedBy: 'aborted' | 'timeout' | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onCallerAbort = (): void => this.end('aborted');

  constructor(private readonly context: RetryContext) {
    context.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(): void {
    this.disarm();
    this.timer = setTimeout(() => this.end('timeout'), this.context.settings.timeoutMs);
  }

  /** Restarts the timer if it is running (progress seen while waiting for the next part). */
  rearm(): void {
    if (this.timer !== undefined) this.arm();
  }

  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.disarm();
    this.context.signal?.removeEventListener('abort', this.onCallerAbort);
    // Hang up whatever the SDK may still hold open (a stream the consumer abandoned, a body nobody reads).
    if (!this.controller.signal.aborted) this.controller.abort();
  }

  toLlmError(thrown: unknown): LlmError {
    const { context } = this;
    if (this.endedBy === 'aborted' || context.signal?.aborted) return abortedError(context);
    if (this.endedBy === 'timeout') {
      return new LlmError(
        failureMessage(context, `no answer within ${context.settings.timeoutMs} ms`),
        context.provider,
        'timeout',
        true,
        undefined,
        undefined,
        { cause: thrown },
      );
    }
    return thrown instanceof LlmError ? thrown : context.mapError(thrown);
  }

  private end(reason: 'aborted' | 'timeout'): void {
    this.endedBy ??= reason;
    this.controller.abort(new Error(reason));
  }
}
