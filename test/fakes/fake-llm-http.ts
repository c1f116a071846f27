/**
 * The plumbing both LLM fakes share (fake-openai-server.ts, fake-ollama-server.ts): a node:http server on
 * 127.0.0.1:0 that records every request, plays a queue of scripted faults, and streams chunks with a delay.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

export interface FakeHttpServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  failNext(...faults: FakeFault[]): void;
  /** Pause between streamed chunks (ms); 0 by default. */
  chunkDelayMs: number;
  close(): Promise<void>;
}

export async function startFakeHttpServer(options: {
  handle: (exchange: FakeExchange) => Promise<void> | void;
  errorBody: (status: number, message: string) => unknown;
}): Promise<FakeHttpServer> {
  const requests: RecordedRequest[] = [];
  const faults: FakeFault[] = [];
  const state = { chunkDelayMs: 0 };

  const server = createServer((incoming, response) => {
    void serve(incoming, response).catch((error: unknown) => {
      if (!response.headersSent && !response.destroyed) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify(options.errorBody(500, `fake server bug: ${String(error)}`)));
      } else {
        response.destroy();
      }
    });
  });

  async function serve(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
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
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(value));
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

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (...more) => void faults.push(...more),
    get chunkDelayMs() {
      return state.chunkDelayMs;
    },
    set chunkDelayMs(value: number) {
      state.chunkDelayMs = value;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
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
