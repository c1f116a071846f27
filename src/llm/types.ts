/**
 * The LLM boundary. The engine talks to a ChatModel and an Embedder; each provider (openai/, ollama/, local/)
 * implements them. Adding a backend is adding one folder.
 */
import { OmoideError } from '../core/errors.js';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly stop?: readonly string[];
  /** Ask the model for a JSON object (OpenAI response_format json_object, Ollama format "json"). */
  readonly json?: boolean;
  /** Cancels the request, including any retry waits. */
  readonly signal?: AbortSignal;
}

export interface TokenUsage {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

export type ChatStreamPart =
  | { readonly type: 'text-delta'; readonly text: string }
  | { readonly type: 'finish'; readonly finishReason: string; readonly usage?: TokenUsage };

export interface ChatResult {
  readonly text: string;
  readonly finishReason: string;
  readonly usage?: TokenUsage;
}

export interface ChatModel {
  /** 'openai' | 'ollama' | a test's name */
  readonly provider: string;
  readonly modelId: string;
  /** A human-readable place the model is served from (for the "cannot reach" hint), never containing secrets. */
  readonly endpoint: string;
  generate(request: ChatRequest): Promise<ChatResult>;
  stream(request: ChatRequest): AsyncIterable<ChatStreamPart>;
}

export interface Embedder {
  /** Stable identity recorded beside every vector, e.g. 'builtin:ngram-v1' or 'openai:text-embedding-3-small'. */
  readonly id: string;
  readonly dimension: number;
  /**
   * Unit-length vectors, one per text, in order. `purpose` lets models that were trained with prefixes
   * (e5's "query: " / "passage: ") embed searches and stored texts differently; others ignore it.
   */
  embed(texts: readonly string[], options?: { signal?: AbortSignal; purpose?: 'query' | 'document' }): Promise<Float32Array[]>;
}

export type LlmFailureKind = 'connection' | 'timeout' | 'rate-limit' | 'server' | 'client' | 'aborted' | 'bad-response';

/** A provider failure. `retryable` says whether trying again may help; the message never holds an API key. */
export class LlmError extends OmoideError {
  constructor(
    message: string,
    readonly provider: string,
    readonly kind: LlmFailureKind,
    readonly retryable: boolean,
    readonly status?: number,
    /** Seconds the server asked us to wait (Retry-After), when it said. */
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
