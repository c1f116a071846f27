/**
 * What both LLM fakes share (fake-openai-server.ts, fake-ollama-server.ts): a node:http server on 127.0.0.1:0 that
 * records every request, plays a queue of scripted faults, and streams chunks with a delay; and how a chat or an
 * embedding request is answered before it is put on the wire (the scripted or echo reply, its chunks, the default
 * vectors, one token a character). Each fake keeps its own wire protocol and error format.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback, readBody, sendJson } from './loopback-http.js';

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query, e.g. '/v1/chat/completions'. */
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** The JSON body (undefined for GET or a body that is not JSON; then see rawBody). `any`: tests read wire fields. */
  readonly body: any;
  readonly rawBody: string;
}

/** One scripted misbehaviour, used by the next request (whatever its path), in queue order. */
export interface FakeFault {
  /** Answer this HTTP status with an error body in the provider's format. */
  readonly status?: number;
  /** The Retry-After header to send with `status`, e.g. '1' or '0.02'. */
  readonly retryAfter?: string;
  /** The error message in the body. */
  readonly message?: string;
  /** Send this text/html body instead of the provider's JSON error (a proxy's error page). */
  readonly html?: string;
  /** Wait this long before doing anything else (then answer normally unless status/drop say otherwise). */
  readonly delayMs?: number;
  /** Close the connection without answering. */
  readonly drop?: boolean;
  /** For a streamed answer: send this many chunks, then close the connection. */
  readonly dropAfterChunks?: number;
}

export interface FakeExchange {
  readonly request: RecordedRequest;
  readonly response: ServerResponse;
  readonly fault: FakeFault | undefined;
  /** Answers JSON with a status. */
  json(status: number, value: unknown, headers?: Record<string, string>): void;
  /** Streams pre-encoded pieces, honouring the chunk delay and `fault.dropAfterChunks`. */
  stream(contentType: string, pieces: readonly string[]): Promise<void>;
}

/** A running LLM fake, as a test holds it. */
export interface FakeHttpServer {
  /** The address a client is given: `http://127.0.0.1:<port>` and the base path (OpenAI's ends in /v1). */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Only the chat requests, in order. */
  chatRequests(): RecordedRequest[];
  failNext(...faults: FakeFault[]): void;
  /** Pause between streamed chunks (ms); 0 by default. */
  chunkDelayMs: number;
  close(): Promise<void>;
}

/**
 * A scripted reply: the text (streamed in chunks of 4 characters), or explicit chunks and a finish reason, under the
 * name the fake's wire protocol gives it (`Reason`: 'finishReason' for OpenAI, 'doneReason' for Ollama).
 */
export type ScriptedReply<Reason extends string> = string | ({ readonly chunks: readonly string[] } & { readonly [key in Reason]?: string });

/** The options both LLM fakes take; `Reply` is the fake's scripted reply. */
export interface FakeLlmOptions<Reply> {
  /** Default: 'echo: ' + the last user message. May be async: a slow or held reply (the client waits meanwhile). */
  readonly reply?: (call: FakeChatCall) => Reply | Promise<Reply>;
  /** Default: a deterministic vector of `embeddingDimension` numbers, not unit length. */
  readonly embed?: (text: string) => number[];
  readonly embeddingDimension?: number;
  readonly models?: readonly string[];
}

/** A chat request as a reply sees it. */
export interface FakeChatCall {
  readonly model: string;
  readonly messages: { role: string; content: string }[];
  readonly stream: boolean;
  /** The whole request body, for anything else a reply wants to look at. */
  readonly body: Record<string, unknown>;
}

export async function startFakeHttpServer(options: {
  handle: (exchange: FakeExchange) => Promise<void> | void;
  errorBody: (status: number, message: string) => unknown;
  /** The path clients put before every endpoint, e.g. '/v1'; none by default. */
  basePath?: string;
  /** The chat endpoint's path, for `chatRequests()`. */
  chatPath: string;
}): Promise<FakeHttpServer> {
  const requests: RecordedRequest[] = [];
  const faults: FakeFault[] = [];
  const state = { chunkDelayMs: 0 };

  const server = createServer((incoming, response) => {
    void serve(incoming, response).catch((error: unknown) => {
      if (!response.headersSent && !response.destroyed) {
        sendJson(response, 500, options.errorBody(500, `fake server bug: ${String(error)}`));
      } else {
        response.destroy();
      }
    });
  });

  async function serve(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const rawBody = (await readBody(incoming)).toString('utf8');
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined; // rawBody keeps what came, for a test that wants to see it
    }
    const request: RecordedRequest = {
      method: incoming.method ?? 'GET',
      path: new URL(incoming.url ?? '/', 'http://fake').pathname,
      headers: incoming.headers,
      body,
      rawBody,
    };
    requests.push(request);

    const fault = faults.shift();
    if (fault?.delayMs) {
      const stillOpen = await wait(fault.delayMs, response);
      if (!stillOpen) return;
    }
    if (fault?.drop) {
      response.socket?.destroy();
      return;
    }
    if (fault?.status !== undefined) {
      const headers: Record<string, string> = {
        'content-type': fault.html !== undefined ? 'text/html' : 'application/json',
      };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      response.writeHead(fault.status, headers);
      const message = fault.message ?? `scripted failure ${fault.status}`;
      response.end(fault.html ?? JSON.stringify(options.errorBody(fault.status, message)));
      return;
    }

    await options.handle({
      request,
      response,
      fault,
      json(status, value, headers = {}) {
        sendJson(response, status, value, headers);
      },
      async stream(contentType, pieces) {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' });
        response.flushHeaders();
        let sent = 0;
        for (const piece of pieces) {
          if (fault?.dropAfterChunks !== undefined && sent >= fault.dropAfterChunks) {
            // Half-close: what was written still arrives, then the chunked body ends abruptly.
            response.socket?.end();
            return;
          }
          if (sent > 0 && state.chunkDelayMs > 0 && !(await wait(state.chunkDelayMs, response))) return;
          if (response.destroyed) return;
          // Wait until the piece is handed to the socket, so a later drop cannot swallow it.
          await new Promise<void>((resolve) => response.write(piece, () => resolve()));
          sent++;
        }
        response.end();
      },
    });
  }

  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}${options.basePath ?? ''}`,
    requests,
    chatRequests: () => requests.filter((request) => request.path === options.chatPath),
    failNext: (...more) => void faults.push(...more),
    get chunkDelayMs() {
      return state.chunkDelayMs;
    },
    set chunkDelayMs(value: number) {
      state.chunkDelayMs = value;
    },
    close: () => closeServer(server),
  };
}

/** Resolves true after `ms`, or false as soon as the client hangs up (so no timer outlives the test). */
function wait(ms: number, response: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    if (response.destroyed) {
      resolve(false);
      return;
    }
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      response.off('close', onClose);
      resolve(!response.destroyed);
    }, ms);
    response.once('close', onClose);
  });
}

/** A chat request as a fake answers it: the call, and what its reply makes of it. */
export interface ChatTurn {
  readonly call: FakeChatCall;
  /** The answer's text in the pieces it is streamed in. */
  readonly chunks: string[];
  readonly finishReason: string;
  /** The fakes count one token a character: the characters of all the messages. */
  readonly promptTokens: number;
}

/**
 * Reads a chat request body and asks `reply` (by default: 'echo: ' + the last user message) for the answer.
 * `streamsByDefault`: whether a body that does not say `stream` asks for a stream (Ollama's default) or not (OpenAI's).
 */
export async function chatTurnOf<Reason extends string>(
  requestBody: unknown,
  how: { streamsByDefault: boolean; reply: FakeLlmOptions<ScriptedReply<Reason>>['reply']; reasonKey: Reason },
): Promise<ChatTurn> {
  const body = (requestBody ?? {}) as Record<string, unknown>;
  const call: FakeChatCall = {
    model: String(body.model ?? ''),
    messages: Array.isArray(body.messages) ? (body.messages as FakeChatCall['messages']) : [],
    stream: how.streamsByDefault ? body.stream !== false : body.stream === true,
    body,
  };
  const answer = await (how.reply ?? echoLastUser)(call);
  return {
    call,
    chunks: typeof answer === 'string' ? splitIntoChunks(answer) : [...answer.chunks],
    finishReason: typeof answer === 'string' ? 'stop' : (answer[how.reasonKey] ?? 'stop'),
    promptTokens: tokensOf(call.messages.map((message) => String(message.content))),
  };
}

/** An embedding request as a fake answers it: one vector for each text asked for (`input`, one string or an array). */
export interface EmbeddingTurn {
  readonly model: string;
  readonly vectors: number[][];
  /** One token a character of the texts. */
  readonly tokens: number;
}

/** Reads an embedding request body; vectors come from `embed`, else `defaultFakeEmbedding` in `embeddingDimension` (8). */
export function embeddingTurnOf(requestBody: unknown, options: FakeLlmOptions<unknown>): EmbeddingTurn {
  const body = (requestBody ?? {}) as { model?: string; input?: unknown };
  const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
  const dimension = options.embeddingDimension ?? 8;
  const embed = options.embed ?? ((text: string) => defaultFakeEmbedding(text, dimension));
  return { model: body.model ?? '', vectors: inputs.map((text) => embed(text)), tokens: tokensOf(inputs) };
}

function echoLastUser(call: FakeChatCall): string {
  const lastUser = [...call.messages].reverse().find((message) => message.role === 'user');
  return `echo: ${lastUser?.content ?? ''}`;
}

function tokensOf(texts: readonly string[]): number {
  return texts.reduce((sum, text) => sum + text.length, 0);
}

/** A deterministic, deliberately not unit-length vector for a text, so tests can see normalization happen. */
export function defaultFakeEmbedding(text: string, dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(0);
  vector[0] = 0.5;
  Array.from(text).forEach((character, position) => {
    const slot = ((character.codePointAt(0) ?? 0) + position) % dimension;
    vector[slot] = (vector[slot] ?? 0) + 1 + (position % 3);
  });
  return vector;
}

/** Splits a reply into streamed pieces of a few characters (code points, so Chinese stays whole). */
export function splitIntoChunks(text: string, size = 4): string[] {
  const characters = Array.from(text);
  const chunks: string[] = [];
  for (let start = 0; start < characters.length; start += size) chunks.push(characters.slice(start, start + size).join(''));
  return chunks;
}
