/** Builds the `openai` client the same way for chat and embeddings: our retries, our timeout, quiet SDK logs. */
import OpenAI from 'openai';
import { ConfigError } from '../../core/errors.js';
import { registerSecret } from '../../util/logger.js';
import { describeEndpoint } from '../retry.js';

export const defaultOpenAiBaseUrl = 'https://api.openai.com/v1';
/** Local servers (vLLM, LM Studio, llama.cpp) accept any key, but the client refuses to run without one. */
export const placeholderApiKey = 'not-needed';

export interface OpenAiConnection {
  readonly client: OpenAI;
  /** Base URL without credentials or query. */
  readonly endpoint: string;
  readonly apiKey: string;
  readonly url: URL;
}

export function connectOpenAi(settings: { baseURL?: string; apiKey?: string; timeoutMs: number }): OpenAiConnection {
  const baseURL = settings.baseURL?.trim() || defaultOpenAiBaseUrl;
  const url = parseHttpUrl(baseURL, 'llm.baseURL');
  const apiKey = settings.apiKey?.trim() || placeholderApiKey;
  if (apiKey !== placeholderApiKey) registerSecret(apiKey);
  const client = new OpenAI({
    baseURL,
    apiKey,
    // Retries are ours (src/llm/retry.ts) so that both providers retry, back off and time out alike.
    maxRetries: 0,
    timeout: settings.timeoutMs,
    logLevel: 'off',
  });
  return { client, endpoint: describeEndpoint(url), apiKey, url };
}

export function parseHttpUrl(value: string, key: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value itself may hold credentials, so the error names the key, not the value.
    throw new ConfigError(key, 'an http:// or https:// URL', 'llm settings');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(key, 'an http:// or https:// URL', 'llm settings');
  }
  return url;
}
