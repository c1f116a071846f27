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
  const guard = {
    accept(socket: { close(code?: number, reason?: string): void }, request: IncomingMessage): true | undefined {
      if (sameSecret(accessTokenOf(request), expected)) return undefined;
      logger.warn('refused a OneBot connection with a wrong or missing access token', { address: request.socket.remoteAddress });
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
}

/**
 * http: omoide's own receiver for posted events, first in the server's router so it answers every request the
 * adapter's route would match: 401 without a signature, 403 with a wrong one or another bot's X-Self-ID, 400 for a
 * body that is not a JSON object, else 204 once the event is handed on. The body is read here, raw, before anything parses it,
 * so an unauthenticated post costs no more than reading at most `maxBodyBytes`.
 */
export function receiveSignedEvents(server: KoishiServer, options: SignedEventReceiverOptions): void {
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const secret = options.secret;
  const receive: Middleware = async (ctx) => {
    const signature = ctx.get('x-signature');
    if (secret !== null && !signature) return void (ctx.status = 401);
    const raw = await readBody(ctx.req, maxBodyBytes).catch(() => null);
    if (raw === null) return void (ctx.status = 413);
    if (secret !== null && !sameSecret(Buffer.from(signature), Buffer.from(`sha1=${createHmac('sha1', secret).update(raw).digest('hex')}`))) {
      options.logger.warn('refused a OneBot event with a wrong signature', { address: ctx.ip });
      return void (ctx.status = 403);
    }
    if (ctx.get('x-self-id') !== options.selfId) return void (ctx.status = 403);
    const event = parseObject(raw);
    if (!event) return void (ctx.status = 400);
    // Reading a quote may call the implementation back (get_msg): the post does not wait for that.
    options.dispatch(event).catch((error: unknown) => options.logger.warn('could not read a OneBot event', { error }));
    ctx.status = 204;
  };
  // The server prepends its body parser to every route unless the middleware opts out; this one reads the raw body.
  Object.assign(receive, { [Symbol.for('noParseBody')]: true });
  server.use(receive);
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

async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
