/**
 * A fake OneBot v11 implementation (the role go-cqhttp / NapCat / Lagrange play) on 127.0.0.1. It can be the
 * forward websocket server the adapter's 'ws' mode dials, dial the adapter's 'ws-reverse' endpoint itself, or be the
 * HTTP API of 'http' mode and post events to the adapter (signed with the secret as OneBot v11 does).
 * It answers the actions the Koishi onebot adapter sends, records every action with its params, and pushes events.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { closeServer, listenOnLoopback, readBody, sendJson } from './loopback-http.js';

export type Segment = { type: string; data: Record<string, unknown> };
export interface RecordedAction { action: string; params: Record<string, unknown>; data: unknown }
export interface Member { nickname?: string; card?: string; role?: 'owner' | 'admin' | 'member' }
export interface GroupMessageEvent { groupId: string; userId: string; message: Segment[]; member?: Member; messageId?: number; time?: number }
export interface PrivateMessageEvent { userId: string; message: Segment[]; nickname?: string; messageId?: number; time?: number }

export function createFakeOneBot(options: { selfId: string; nickname?: string; token?: string }) {
  const actions: RecordedAction[] = [];
  const waiters = new Set<() => void>();
  const listeners = new Set<(entry: RecordedAction) => void>();
  const messages = new Map<number, Record<string, unknown>>();
  const members = new Map<string, Record<string, unknown>>();
  let nextMessageId = 1000;
  let socket: WebSocket | null = null;
  let httpServer: Server | null = null;
  let wsServer: WebSocketServer | null = null;
  const selfId = Number(options.selfId);

  function answer(action: string, params: Record<string, unknown>): { status: string; retcode: number; data: unknown } {
    const ok = (data: unknown) => ({ status: 'ok', retcode: 0, data });
    switch (action) {
      case 'get_login_info':
        return ok({ user_id: selfId, nickname: options.nickname ?? 'bot' });
      case 'get_msg': {
        const stored = messages.get(Number(params.message_id));
        return stored ? ok(stored) : { status: 'failed', retcode: 100, data: null };
      }
      case 'get_group_member_info': {
        const member = members.get(`${params.group_id}:${params.user_id}`);
        return member ? ok(member) : { status: 'failed', retcode: 100, data: null };
      }
      case 'send_group_msg':
      case 'send_private_msg': {
        const message_id = nextMessageId++;
        const message_type = action === 'send_group_msg' ? 'group' : 'private';
        const sender = { user_id: selfId, nickname: options.nickname ?? 'bot' };
        messages.set(message_id, { message_id, message_type, group_id: params.group_id, sender, message: params.message, time: 0 });
        return ok({ message_id });
      }
      default: // get_guild_service_profile and anything unknown: a plain OneBot v11 implementation refuses it
        return { status: 'failed', retcode: 1404, data: null };
    }
  }

  function attach(ws: WebSocket): void {
    socket = ws;
    ws.on('message', (raw) => {
      const request = JSON.parse(raw.toString()) as { action: string; params?: Record<string, unknown>; echo?: unknown };
      const response = record(request.action, request.params ?? {});
      ws.send(JSON.stringify({ ...response, echo: request.echo }));
    });
    ws.on('close', () => { if (socket === ws) socket = null; });
  }

  function record(action: string, params: Record<string, unknown>): ReturnType<typeof answer> {
    const response = answer(action, params);
    const entry: RecordedAction = { action, params, data: response.data };
    actions.push(entry);
    for (const listener of listeners) listener(entry);
    for (const wake of [...waiters]) wake();
    return response;
  }

  function complete(event: Record<string, unknown>): Record<string, unknown> & { message_id: number } {
    const message_id = (event.message_id as number | undefined) ?? nextMessageId++;
    const full = { self_id: selfId, post_type: 'message', time: Math.floor(Date.now() / 1000), ...event, message_id };
    messages.set(message_id, full);
    return full;
  }

  function push(event: Record<string, unknown>): number {
    if (!socket) throw new Error('fake onebot: no adapter connected');
    const full = complete(event);
    socket.send(JSON.stringify(full));
    return full.message_id;
  }

  function groupEvent(event: GroupMessageEvent): Record<string, unknown> {
    const sender = { user_id: Number(event.userId), nickname: event.member?.nickname ?? `user${event.userId}`, card: event.member?.card ?? '', role: event.member?.role ?? 'member' };
    members.set(`${event.groupId}:${event.userId}`, { group_id: Number(event.groupId), ...sender });
    return { message_type: 'group', sub_type: 'normal', group_id: Number(event.groupId), user_id: sender.user_id, message: event.message, raw_message: '', sender, ...(event.messageId !== undefined && { message_id: event.messageId }), ...(event.time !== undefined && { time: event.time }) };
  }

  return {
    actions,
    /** Forward mode: listens on 127.0.0.1:0 and resolves to the ws:// URL the adapter connects to. */
    async listen(): Promise<string> {
      httpServer = createServer();
      wsServer = new WebSocketServer({ server: httpServer });
      wsServer.on('connection', (ws, request) => {
        if (options.token && request.headers.authorization !== `Bearer ${options.token}`) return ws.close(1008, 'bad token');
        attach(ws);
      });
      return `ws://127.0.0.1:${await listenOnLoopback(httpServer)}`;
    },
    /** HTTP mode: serves the OneBot HTTP API (POST /<action>) on 127.0.0.1:0 and resolves to its http:// URL. */
    async listenHttp(): Promise<string> {
      httpServer = createServer((request, response) => {
        if (options.token && request.headers.authorization !== `Token ${options.token}` && request.headers.authorization !== `Bearer ${options.token}`) {
          response.writeHead(401).end();
          return;
        }
        void readBody(request).then((raw) => {
          const body = raw.toString('utf8');
          const params = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
          const result = record(new URL(request.url ?? '/', 'http://x').pathname.slice(1), params);
          sendJson(response, 200, result);
        });
      });
      return `http://127.0.0.1:${await listenOnLoopback(httpServer)}`;
    },
    /**
     * HTTP mode: posts a group message event to the adapter as implementations do — compact JSON with `<`, `>` and `&`
     * escaped as Go's encoder writes them, `X-Self-ID`, and `X-Signature: sha1=<HMAC of the raw body>` when a secret
     * is given. Resolves to the HTTP status.
     */
    async postGroupMessage(url: string, event: GroupMessageEvent, post: { secret?: string; signature?: string; selfId?: string } = {}): Promise<number> {
      const body = JSON.stringify(complete(groupEvent(event))).replace(/[<>&]/g, (char) => `\\u00${char.charCodeAt(0).toString(16)}`);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-self-id': post.selfId ?? options.selfId };
      const signature = post.signature ?? (post.secret ? `sha1=${createHmac('sha1', post.secret).update(body).digest('hex')}` : undefined);
      if (signature) headers['x-signature'] = signature;
      const response = await fetch(url, { method: 'POST', headers, body });
      return response.status;
    },
    /** Reverse mode: dials the adapter's endpoint as OneBot implementations do (X-Self-ID, X-Client-Role). */
    async connect(url: string): Promise<void> {
      const headers: Record<string, string> = { 'X-Self-ID': options.selfId, 'X-Client-Role': 'Universal' };
      if (options.token) headers.Authorization = `Bearer ${options.token}`;
      const ws = new WebSocket(url, { headers });
      // Attach before 'open': the adapter's first action can arrive in the same TCP chunk as the upgrade response.
      attach(ws);
      await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    },
    get connected(): boolean { return socket !== null; },
    /**
     * Drops the connection without a close frame, as a crashed or restarted implementation does: in forward mode the
     * server keeps listening for the adapter to dial again; in reverse mode call connect() again to come back.
     */
    drop(): void {
      socket?.terminate();
      socket = null;
      for (const client of wsServer?.clients ?? []) client.terminate();
    },
    pushGroupMessage(event: GroupMessageEvent): number {
      return push(groupEvent(event));
    },
    pushPrivateMessage(event: PrivateMessageEvent): number {
      const sender = { user_id: Number(event.userId), nickname: event.nickname ?? `user${event.userId}` };
      return push({ message_type: 'private', sub_type: 'friend', user_id: sender.user_id, message: event.message, raw_message: '', sender, ...(event.messageId !== undefined && { message_id: event.messageId }), ...(event.time !== undefined && { time: event.time }) });
    },
    /** Resolves with the first recorded action (past or future) named `name` that matches `predicate`. */
    waitForAction(name: string, predicate: (params: Record<string, unknown>) => boolean = () => true, timeoutMs = 5000): Promise<RecordedAction> {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = actions.find((entry) => entry.action === name && predicate(entry.params));
          if (found) { waiters.delete(check); clearTimeout(timer); resolve(found); }
          return found !== undefined;
        };
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`fake onebot: no ${name} within ${timeoutMs} ms; saw ${actions.map((entry) => entry.action).join(', ')}`)); }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    /**
     * Calls `listener` with every action from now on, once answered; returns the unsubscribe. For counting at
     * scale, where waitForAction's scan of all past actions would be quadratic.
     */
    onAction(listener: (entry: RecordedAction) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close(): Promise<void> {
      socket?.terminate();
      socket = null;
      for (const client of wsServer?.clients ?? []) client.terminate();
      await new Promise<void>((resolve) => (wsServer ? wsServer.close(() => resolve()) : resolve()));
      wsServer = null;
      const server = httpServer;
      httpServer = null; // a second close is a no-op
      if (server) await closeServer(server);
    },
  };
}

export type FakeOneBot = ReturnType<typeof createFakeOneBot>;

export const text = (value: string): Segment => ({ type: 'text', data: { text: value } });
export const at = (qq: string): Segment => ({ type: 'at', data: { qq } });
export const reply = (id: number): Segment => ({ type: 'reply', data: { id: String(id) } });
