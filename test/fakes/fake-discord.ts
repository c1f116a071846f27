/**
 * A loopback fake of Discord for tests: REST under /api/v10 and a v10 JSON gateway on one port, enough for a real
 * discord.js 14 Client to log in, receive messages and interactions, and answer. Every REST call is recorded.
 * Wire facts (and pitfalls) in /work/shared/PLATFORMS.md.
 *
 * It also misbehaves as Discord does: it checks the token (REST 401, gateway close 4004) when given one, delivers
 * messages by the intents the client identified with (no MessageContent: empty content unless the bot is mentioned
 * or it is a DM), keeps each session's events so a RESUME replays what the client missed, and on request sends op 7
 * (reconnect) or op 9 (invalid session), drops or closes the connections, or answers a REST call with a 429.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { closeServer, listenOnLoopback, readBody, sendJson } from './loopback-http.js';

export interface FakeUser {
  id: string;
  username: string;
  global_name?: string | null;
  bot?: boolean;
}
export interface FakeGuild {
  id: string;
  name: string;
  channels: { id: string; name: string }[];
}
export interface RecordedRequest {
  method: string;
  /** Path after /api/v10, percent-decoded (`/webhooks/app/token/messages/@original`). */
  path: string;
  query: URLSearchParams;
  /** The JSON body, or `payload_json` of a multipart body. */
  body: unknown;
  files: { field: string; name: string; content: string }[];
}
export interface MessageInput {
  channelId: string;
  /** null: a DM. */
  guildId: string | null;
  author: FakeUser;
  content: string;
  id?: string;
  mentions?: FakeUser[];
  nick?: string | null;
  /** Makes it a reply to this message (as Discord includes it in MESSAGE_CREATE). */
  referencedMessage?: Record<string, unknown>;
  /** ISO time; the id is derived from it, as on Discord. */
  timestamp?: string;
}
export interface InteractionInput {
  channelId: string;
  guildId: string | null;
  user: FakeUser;
  name: string;
  subcommand?: string;
  options?: { name: string; type: number; value: string | boolean }[];
  /** Permission bits as Discord sends them, e.g. '32' for Manage Server. */
  permissions?: string;
  locale?: string;
}
/** What a client sent in IDENTIFY (op 2), in order. */
export interface RecordedIdentify {
  token: string;
  intents: number;
}

/** A REST call's 429, as Discord answers one. */
export interface RateLimit {
  /** seconds, as in the body's `retry_after`; the `Retry-After` header is this rounded up, as Discord sends it */
  retryAfter: number;
  global?: boolean;
}

export type FakeDiscord = Awaited<ReturnType<typeof startFakeDiscord>>;

/** Gateway intent bits (discord-api-types' GatewayIntentBits), those the fake acts on. */
export const intentBits = { guilds: 1 << 0, guildMessages: 1 << 9, directMessages: 1 << 12, messageContent: 1 << 15 } as const;

/** A gateway session: what RESUME continues. Events are kept so that a resumed client gets what it missed. */
interface Session {
  id: string;
  intents: number;
  socket: WebSocket | null;
  /** the last sequence number handed out in this session */
  seq: number;
  events: { s: number; t: string; d: unknown }[];
}

let sequence = 0n;
/**
 * Snowflake ids, unique in one process. discord.js reads a message's `createdAt` from its id, not from
 * `timestamp`, so the id encodes the time like Discord's do.
 */
export function nextSnowflake(at: number = Date.now()): string {
  sequence = (sequence + 1n) % 4096n;
  return (((BigInt(at) - 1_420_070_400_000n) << 22n) | sequence).toString();
}

export async function startFakeDiscord(
  options: {
    bot?: FakeUser;
    applicationId?: string;
    guilds?: FakeGuild[];
    /** The bot's token: REST calls must carry `Bot <token>` (else 401), IDENTIFY and RESUME the token (else close 4004). Unset: any token. */
    token?: string;
  } = {},
) {
  const bot: FakeUser = options.bot ?? { id: '100000000000000001', username: 'omoide', bot: true };
  const applicationId = options.applicationId ?? bot.id;
  const guilds = options.guilds ?? [{ id: '200000000000000001', name: 'Guild', channels: [{ id: '300000000000000001', name: 'general' }, { id: '300000000000000002', name: 'random' }] }];
  const requests: RecordedRequest[] = [];
  const sentMessages: Record<string, unknown>[] = [];
  const identifies: RecordedIdentify[] = [];
  const resumes: { sessionId: string; seq: number }[] = [];
  const sockets = new Set<WebSocket>();
  const sessions = new Map<string, Session>();
  const waiters: { predicate: (request: RecordedRequest) => boolean; resolve: (request: RecordedRequest) => void }[] = [];
  const listeners = new Set<(request: RecordedRequest) => void>();
  const rateLimits: { predicate: (request: RecordedRequest) => boolean; limit: RateLimit }[] = [];
  let validToken = options.token ?? null;
  let sessionCount = 0;

  const userPayload = (user: FakeUser) => ({
    id: user.id, username: user.username, global_name: user.global_name ?? null, discriminator: '0',
    avatar: null, bot: user.bot ?? false,
  });
  const messagePayload = (channelId: string, body: Record<string, unknown>) => {
    const reference = body.message_reference as { message_id?: string } | undefined;
    const message = {
      id: nextSnowflake(), channel_id: channelId, author: userPayload(bot), content: body.content ?? '',
      timestamp: new Date().toISOString(), edited_timestamp: null, tts: false, mention_everyone: false, mentions: [],
      mention_roles: [], attachments: [], embeds: [], pinned: false, flags: 0, type: reference ? 19 : 0,
      ...(reference && { message_reference: { ...reference, channel_id: channelId } }),
    };
    sentMessages.push(message);
    return message;
  };

  function send(socket: WebSocket, payload: Record<string, unknown>): void {
    socket.send(JSON.stringify(payload));
  }
  /**
   * Adds an event to every live session (shaped by its intents; `null` leaves that session out) and sends it where
   * the session's client is connected; a disconnected session keeps it for its RESUME.
   */
  function dispatch(type: string, data: (session: Session) => unknown): void {
    for (const session of sessions.values()) {
      const shaped = data(session);
      if (shaped === null) continue;
      const event = { s: ++session.seq, t: type, d: shaped };
      keep(session, event);
      if (session.socket) send(session.socket, { op: 0, ...event });
    }
  }

  function sendEvent(session: Session, type: string, data: unknown): void {
    const event = { s: ++session.seq, t: type, d: data };
    keep(session, event);
    send(session.socket!, { op: 0, ...event });
  }

  /** Discord keeps a session's recent events for a RESUME; so does the fake, the last 1,000. */
  function keep(session: Session, event: Session['events'][number]): void {
    session.events.push(event);
    if (session.events.length > 1_000) session.events.splice(0, session.events.length - 1_000);
  }

  const hasIntent = (session: Session, bit: number) => (session.intents & bit) === bit;

  /** MESSAGE_CREATE as a session with these intents receives it: not at all, or without its content. */
  function messageFor(session: Session, message: Record<string, unknown>): Record<string, unknown> | null {
    const inGuild = message.guild_id !== undefined;
    if (!hasIntent(session, inGuild ? intentBits.guildMessages : intentBits.directMessages)) return null;
    if (hasIntent(session, intentBits.messageContent)) return message;
    // Without the privileged intent, Discord keeps the content only of DMs, messages that mention the app, and its own.
    const mentions = message.mentions as { id: string }[];
    const author = message.author as { id: string };
    if (!inGuild || author.id === bot.id || mentions.some((user) => user.id === bot.id)) return message;
    return { ...message, content: '', embeds: [], attachments: [], components: [] };
  }

  const isRightToken = (given: unknown) => validToken === null || given === validToken;

  function rateLimitFor(recorded: RecordedRequest): RateLimit | null {
    const index = rateLimits.findIndex((entry) => entry.predicate(recorded));
    if (index < 0) return null;
    return rateLimits.splice(index, 1)[0]!.limit;
  }

  function route(method: string, path: string, body: Record<string, unknown>): [number, unknown] {
    let match: RegExpMatchArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return [200, { url: `ws://127.0.0.1:${port}/gateway`, shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } }];
    }
    if (method === 'GET' && path === '/users/@me') return [200, userPayload(bot)];
    if (method === 'POST' && (match = path.match(/^\/channels\/(\d+)\/messages$/))) return [200, messagePayload(match[1]!, body)];
    if (method === 'POST' && /^\/channels\/\d+\/typing$/.test(path)) return [204, null];
    if (method === 'PUT' && /^\/applications\/\d+(\/guilds\/\d+)?\/commands$/.test(path)) {
      const commands = Array.isArray(body) ? body : [];
      return [200, commands.map((command: Record<string, unknown>) => ({ ...command, id: nextSnowflake(), application_id: applicationId, version: nextSnowflake() }))];
    }
    if (method === 'POST' && /^\/interactions\/\d+\/[^/]+\/callback$/.test(path)) return [204, null];
    if ((match = path.match(/^\/webhooks\/\d+\/[^/]+(\/messages\/@original)?$/)) && (method === 'POST' || method === 'PATCH')) {
      return [200, messagePayload('0', body)];
    }
    return [404, { message: '404: Not Found', code: 0 }];
  }

  async function onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname.replace(/^\/api\/v10/, ''));
    const contentType = request.headers['content-type'] ?? '';
    let body: unknown = null;
    const files: RecordedRequest['files'] = [];
    if (contentType.startsWith('multipart/form-data')) {
      // undici's Response parses multipart exactly as a server would.
      const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
      for (const [field, value] of form) {
        if (typeof value === 'string') {
          if (field === 'payload_json') body = JSON.parse(value);
        } else {
          files.push({ field, name: value.name, content: await value.text() });
        }
      }
    } else if (raw.length > 0) {
      body = JSON.parse(raw.toString('utf8'));
    }
    // Judged before anyone hears of the call: a listener may reset the token for the calls after this one.
    const authorized = isRightToken(request.headers.authorization?.replace(/^Bot /, ''));
    const recorded: RecordedRequest = { method: request.method ?? 'GET', path, query: url.searchParams, body, files };
    requests.push(recorded);
    for (const listener of listeners) listener(recorded);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(recorded)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(recorded);
      }
    }
    if (!authorized) {
      sendJson(response, 401, { message: '401: Unauthorized', code: 0 });
      return;
    }
    const limited = rateLimitFor(recorded);
    if (limited) {
      sendJson(response, 429, { message: 'You are being rate limited.', retry_after: limited.retryAfter, global: limited.global ?? false }, {
        'retry-after': String(Math.ceil(limited.retryAfter)),
        'x-ratelimit-scope': limited.global ? 'global' : 'user',
        ...(limited.global ? { 'x-ratelimit-global': 'true' } : {
          'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': String(limited.retryAfter),
        }),
      });
      return;
    }
    const [status, payload] = route(recorded.method, path, (body ?? {}) as Record<string, unknown>);
    // A 204 must carry no content-type: @discordjs/rest would try to parse an empty JSON body and crash.
    if (status === 204) response.writeHead(204).end();
    else sendJson(response, status, payload);
  }

  const server = createServer((request, response) => {
    onRequest(request, response).catch((error: unknown) => {
      sendJson(response, 500, { message: String(error), code: 0 });
    });
  });
  const gateway = new WebSocketServer({ server, path: '/gateway' });

  function ready(socket: WebSocket, intents: number): void {
    const session: Session = { id: `fake-session-${++sessionCount}`, intents, socket, seq: 0, events: [] };
    sessions.set(session.id, session);
    sendEvent(session, 'READY', {
      v: 10, user: userPayload(bot), guilds: guilds.map((guild) => ({ id: guild.id, unavailable: true })),
      session_id: session.id, resume_gateway_url: `ws://127.0.0.1:${port}/gateway`,
      application: { id: applicationId, flags: 0 },
    });
    for (const guild of guilds) {
      sendEvent(session, 'GUILD_CREATE', {
        id: guild.id, name: guild.name, unavailable: false, owner_id: '1', member_count: 2, large: false,
        joined_at: new Date(0).toISOString(), features: [], emojis: [], stickers: [], members: [], presences: [],
        voice_states: [], threads: [], roles: [{ id: guild.id, name: '@everyone', permissions: '0', position: 0, color: 0, hoist: false, managed: false, mentionable: false }],
        channels: guild.channels.map((channel, position) => ({ id: channel.id, name: channel.name, type: 0, position, guild_id: guild.id, permission_overwrites: [] })),
      });
    }
  }

  /** RESUME: the session goes on on this socket, with every event after `seq` replayed, then RESUMED. */
  function resume(socket: WebSocket, sessionId: string, seq: number): void {
    resumes.push({ sessionId, seq });
    const session = sessions.get(sessionId);
    if (!session) {
      send(socket, { op: 9, d: false });
      return;
    }
    session.socket = socket;
    for (const event of session.events) if (event.s > seq) send(socket, { op: 0, ...event });
    sendEvent(session, 'RESUMED', {});
  }

  gateway.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      for (const session of sessions.values()) if (session.socket === socket) session.socket = null;
    });
    send(socket, { op: 10, d: { heartbeat_interval: 41_250 } });
    socket.on('message', (data) => {
      const packet = JSON.parse(String(data)) as { op: number; d?: Record<string, unknown> };
      if (packet.op === 1) send(socket, { op: 11 });
      if (packet.op !== 2 && packet.op !== 6) return;
      const d = packet.d ?? {};
      if (packet.op === 2) identifies.push({ token: String(d.token), intents: Number(d.intents) });
      if (!isRightToken(d.token)) {
        socket.close(4004, 'Authentication failed.');
        return;
      }
      if (packet.op === 2) ready(socket, Number(d.intents));
      else resume(socket, String(d.session_id), Number(d.seq));
    });
  });
  const port = await listenOnLoopback(server);

  return {
    bot,
    applicationId,
    guilds,
    requests,
    sentMessages,
    /** Every IDENTIFY, in order (a RESUME is not one). */
    identifies,
    /** Every RESUME, in order. */
    resumes,
    apiBase: `http://127.0.0.1:${port}/api`,
    /** Open gateway connections (identified or not). */
    get connections(): number {
      return sockets.size;
    },
    /** Sessions whose client is connected now. */
    get liveSessions(): number {
      return [...sessions.values()].filter((session) => session.socket !== null).length;
    },

    /** Sends MESSAGE_CREATE; mentions of the bot in `content` are added to `mentions` as Discord does. */
    dispatchMessage(input: MessageInput): Record<string, unknown> {
      const mentions = [...(input.mentions ?? [])];
      if (new RegExp(`<@!?${bot.id}>`).test(input.content) && !mentions.some((user) => user.id === bot.id)) mentions.push(bot);
      const referenced = input.referencedMessage;
      const timestamp = input.timestamp ?? new Date().toISOString();
      const message = {
        id: input.id ?? nextSnowflake(Date.parse(timestamp)), channel_id: input.channelId, author: userPayload(input.author),
        content: input.content, timestamp, edited_timestamp: null,
        tts: false, mention_everyone: false, mentions: mentions.map(userPayload), mention_roles: [], attachments: [],
        embeds: [], pinned: false, flags: 0, type: referenced ? 19 : 0,
        ...(input.guildId !== null
          ? { guild_id: input.guildId, member: { nick: input.nick ?? null, roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false } }
          : { channel_type: 1 }),
        ...(referenced && {
          message_reference: { type: 0, message_id: referenced.id, channel_id: input.channelId, ...(input.guildId && { guild_id: input.guildId }) },
          referenced_message: referenced,
        }),
      };
      dispatch('MESSAGE_CREATE', (session) => messageFor(session, message));
      return message;
    },

    /** Sends INTERACTION_CREATE for a chat-input command; returns the interaction id and token. */
    dispatchInteraction(input: InteractionInput): { id: string; token: string } {
      const id = nextSnowflake();
      const token = `token-${id}`;
      const options = input.subcommand ? [{ name: input.subcommand, type: 1, options: input.options ?? [] }] : (input.options ?? []);
      const interaction = {
        id, token, application_id: applicationId, type: 2, version: 1, locale: input.locale ?? 'en-US',
        data: { id: nextSnowflake(), name: input.name, type: 1, options },
        channel_id: input.channelId, channel: { id: input.channelId, type: input.guildId ? 0 : 1 },
        entitlements: [], authorizing_integration_owners: {}, app_permissions: '0', context: input.guildId ? 0 : 1,
        ...(input.guildId
          ? { guild_id: input.guildId, guild_locale: 'en-US', member: { user: userPayload(input.user), nick: null, roles: [],
              joined_at: new Date(0).toISOString(), permissions: input.permissions ?? '0', deaf: false, mute: false, flags: 0 } }
          : { user: userPayload(input.user) }),
      };
      dispatch('INTERACTION_CREATE', () => interaction);
      return { id, token };
    },

    /** Resolves with the first recorded request (past or future) matching `predicate`. */
    waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs = 5_000): Promise<RecordedRequest> {
      const seen = requests.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`fake discord: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = { predicate, resolve: (request: RecordedRequest) => { clearTimeout(timer); resolve(request); } };
        waiters.push(waiter);
      });
    },

    /**
     * Calls `listener` with every request from now on, as it is recorded (before it is answered); returns the
     * unsubscribe. For counting at scale, where waitForRequest's scan of all past requests would be quadratic.
     */
    onRequest(listener: (request: RecordedRequest) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Op 7: every connected client is told to reconnect (and resume). */
    requestReconnect(): void {
      for (const socket of sockets) send(socket, { op: 7, d: null });
    },
    /**
     * Op 9: every connected session is invalid. Resumable: the client may RESUME it; otherwise it is gone (and the
     * events meant for it with it) and the client must IDENTIFY again.
     */
    invalidateSessions(resumable = false): void {
      for (const session of [...sessions.values()]) {
        if (!session.socket) continue;
        send(session.socket, { op: 9, d: resumable });
        if (!resumable) {
          session.socket = null;
          sessions.delete(session.id);
        }
      }
    },
    /** Drops every gateway connection without a close frame, as a network failure would (the sessions stay resumable). */
    dropConnections(): void {
      for (const socket of sockets) socket.terminate();
    },
    /** Closes every gateway connection with `code` (4004: authentication failed, 4000: unknown error, ...). */
    closeConnections(code: number, reason = ''): void {
      for (const socket of sockets) socket.close(code, reason);
    },
    /** The token changes (as when it is reset in the Developer Portal): the old one is refused from now on. */
    resetToken(token: string): void {
      validToken = token;
    },
    /** The next REST call matching `predicate` is answered 429 with `limit`; it is recorded, as every call is. */
    rateLimitNext(predicate: (request: RecordedRequest) => boolean, limit: RateLimit): void {
      rateLimits.push({ predicate, limit });
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => gateway.close(() => resolve()));
      await closeServer(server);
    },
  };
}
