/**
 * Who may talk to omoide's OneBot listener (ws-reverse and http modes). koishi-plugin-adapter-onebot 6.9 checks
 * neither the access token of a reverse websocket nor, usefully, the signature of a posted event (it signs the
 * re-serialized body, and its http receiver reads the response body instead of the request's, so every post crashes
 * it). Both guards are installed on the Koishi server before it listens and sit in front of every path the server
 * would route — path-to-regexp ignores case and a trailing slash, so `/ONEBOT/` reaches the adapter as `/onebot` does.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Middleware } from 'koa';
import type * as ServerModule from '@koishijs/plugin-server';
import type { Logger } from '../../util/logger.js';

type KoishiServer = ServerModule.Server;
type WebSocketLayer = KoishiServer['wsStack'][number];

/** Whether a listen address is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * ws-reverse: every websocket connection, on any path, must carry the access token (`Authorization: Bearer <token>`
 * or `Token <token>` as OneBot implementations send it, or `?access_token=`); others are closed with 1008 before the
 * adapter sees them, so they never receive an action nor send an event.
 */
export function guardReverseWebSocket(server: KoishiServer, token: string, logger: Logger): void {
  const expected = Buffer.from(token);
  const refused = refusalLog(logger, 'refused OneBot connections with a wrong or missing access token');
  const guard = {
    accept(socket: { close(code?: number, reason?: string): void }, request: IncomingMessage): true | undefined {
      if (sameSecret(accessTokenOf(request), expected)) return undefined;
      refused(request.socket.remoteAddress);
      socket.close(1008, 'invalid access token');
      return true;
    },
  };
  // The stack holds WebSocketLayer instances, but the server only ever calls accept(); first in the stack decides.
  server.wsStack.unshift(guard as unknown as WebSocketLayer);
}

type ReverseSocket = Parameters<WebSocketLayer['accept']>[0];

/**
 * ws-reverse: one connection of the implementation at a time, handed to the adapter only once the one before it has
 * closed. koishi-plugin-adapter-onebot 6.9 forgets the bot's connection when any of its sockets closes (it drops the
 * bot's request function and sets it offline without asking which socket that was): an implementation that dials
 * again before the close of its old connection was seen — a network blip leaves the old one half-open — would be
 * accepted, then silenced by that late close, every reply after it lost. So a new connection for this bot (right
 * path, X-Self-ID, X-Client-Role) closes the old one and waits, paused, until that close is over.
 */
export function oneReverseConnection(server: KoishiServer, selfId: string, logger: Logger): void {
  /** The connection the adapter has, and a newer one waiting, paused, for it to close. */
  let given: ReverseSocket | null = null;
  let waiting: ReverseSocket | null = null;
  const layer = {
    accept(socket: ReverseSocket, request: IncomingMessage): true | undefined {
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      const forThisBot = request.headers['x-self-id'] === selfId && request.headers['x-client-role'] === 'Universal';
      // Not for the adapter: the layers after this one decide, as they would without it.
      if (!forThisBot || !laterLayers().some((later) => later.regexp?.test(pathname))) return undefined;
      waiting?.terminate(); // superseded before it was handed on
      waiting = null;
      if (!given || given.readyState === given.CLOSED) {
        given = socket;
        return undefined;
      }
      logger.info('the OneBot implementation connected again; closing its previous connection');
      waiting = socket;
      socket.pause();
      // Registered after the adapter's own close listener, so this runs once the adapter has forgotten the old one.
      given.once('close', () => {
        if (waiting !== socket) return;
        waiting = null;
        handOn(socket, request);
      });
      given.terminate();
      return true;
    },
  };
  function laterLayers(): Array<Partial<Pick<WebSocketLayer, 'regexp'>> & Pick<WebSocketLayer, 'accept'>> {
    return server.wsStack.slice(server.wsStack.indexOf(layer as unknown as WebSocketLayer) + 1);
  }
  function handOn(socket: ReverseSocket, request: IncomingMessage): void {
    if (socket.readyState !== socket.OPEN) return;
    given = socket;
    socket.resume();
    if (!laterLayers().some((later) => later.accept(socket, request))) socket.close();
  }
  server.wsStack.unshift(layer as unknown as WebSocketLayer);
}

function accessTokenOf(request: IncomingMessage): Buffer {
  const header = request.headers.authorization ?? '';
  const fromHeader = header.replace(/^(Bearer|Token)\s+/i, '');
  const fromQuery = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token') ?? '';
  return Buffer.from(fromHeader || fromQuery);
}

export interface SignedEventReceiverOptions {
  /** OneBot v11 `secret`: events must carry `X-Signature: sha1=<HMAC-SHA1 of the raw body>`. null: unsigned posts pass. */
  readonly secret: string | null;
  /** Posts must name this bot in `X-Self-ID`. */
  readonly selfId: string;
  /** Hands a verified event to the adapter; the post is answered without waiting for it. */
  readonly dispatch: (event: Record<string, unknown>) => Promise<void>;
  readonly logger: Logger;
  /** Largest body read, in bytes (default 4 MiB): an event is a message, not a file. */
  readonly maxBodyBytes?: number;
  /** How long a body may take to arrive (default 10 s). */
  readonly readTimeoutMs?: number;
}

/**
 * http: omoide's own receiver for posted events, first in the server's router so it answers every request the
 * adapter's route would match: 401 without a signature, 403 with a wrong one or another bot's X-Self-ID, 400 for a
 * body that is not a JSON object, else 204 once the event is handed on. The body is read here, raw, before anything parses it,
 * so an unauthenticated post costs no more than reading at most `maxBodyBytes`.
 */
export function receiveSignedEvents(server: KoishiServer, options: SignedEventReceiverOptions): void {
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const readTimeoutMs = options.readTimeoutMs ?? 10_000;
  const secret = options.secret;
  const refused = refusalLog(options.logger, 'refused OneBot events that were unsigned, wrongly signed or for another bot');
  const receive: Middleware = async (ctx) => {
    const signature = ctx.get('x-signature');
    // Everything that can be refused before reading the body is.
    if (secret !== null && !signature) return refuse(401);
    if (ctx.get('x-self-id') !== options.selfId) return refuse(403);
    if (Number(ctx.get('content-length') || 0) > maxBodyBytes) return void (ctx.status = 413);
    const body = await readBody(ctx.req, maxBodyBytes, readTimeoutMs);
    if (body.problem) return void (ctx.status = body.problem === 'too large' ? 413 : 408);
    const raw = body.bytes;
    if (secret !== null && !sameSecret(Buffer.from(signature), Buffer.from(`sha1=${createHmac('sha1', secret).update(raw).digest('hex')}`))) {
      return refuse(403);
    }
    const event = parseObject(raw);
    if (!event) return void (ctx.status = 400);
    // Reading a quote may call the implementation back (get_msg): the post does not wait for that.
    options.dispatch(event).catch((error: unknown) => options.logger.warn('could not read a OneBot event', { error }));
    ctx.status = 204;

    function refuse(status: number): void {
      refused(ctx.ip);
      ctx.status = status;
    }
  };
  // The server prepends its body parser to every route unless the middleware opts out; this one reads the raw body.
  Object.assign(receive, { [Symbol.for('noParseBody')]: true });
  // Router layers run in the order they were added: this one must come before the adapter's own route.
  if (server.stack.length > 0) throw new Error('qq adapter: the OneBot event receiver must be the server\'s first route');
  server.use(receive);
}

/** Logs refused peers at most once a minute per address, with how many were refused: a flood does not flood the log. */
function refusalLog(logger: Logger, what: string): (address: string | undefined) => void {
  const windows = new Map<string, { since: number; count: number }>();
  return (address = 'unknown') => {
    const now = Date.now();
    const window = windows.get(address);
    if (window && now - window.since < 60_000) {
      window.count++;
      return;
    }
    if (window && window.count > 1) logger.warn(what, { address, count: window.count, seconds: Math.round((now - window.since) / 1000) });
    else logger.warn(what, { address, count: 1 });
    windows.set(address, { since: now, count: 1 });
    if (windows.size > 1024) windows.delete(windows.keys().next().value!);
  };
}

function sameSecret(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function parseObject(raw: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null; // not JSON: answered with 400 by the caller
  }
}

type Body = { readonly bytes: Buffer; readonly problem?: undefined } | { readonly problem: 'too large' | 'too slow' };

/** The raw body, at most `maxBytes`, arriving within `timeoutMs`; a body past either is cut off. */
async function readBody(request: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Body> {
  const timer = setTimeout(() => request.destroy(new Error('too slow')), timeoutMs);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) return { problem: 'too large' };
      chunks.push(chunk as Buffer);
    }
    return { bytes: Buffer.concat(chunks) };
  } catch {
    return { problem: 'too slow' }; // destroyed by the timer (or the peer went away): nobody reads the answer anyway
  } finally {
    clearTimeout(timer);
  }
}
