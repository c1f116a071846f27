/**
 * The QQ adapter: a Koishi 4 context with koishi-plugin-adapter-onebot, talking OneBot v11 to an implementation
 * such as NapCat, Lagrange or go-cqhttp. Addressed messages (an @ of the bot anywhere, a quote of the bot's
 * message, a private chat) go to the MessageHandler; `/persona`, `/memory`, ... are Koishi commands wired to the
 * CommandHandler.
 *
 * Koishi is loaded through CommonJS: its ESM entry fails on Node 20 ("Class extends value #<Object> is not a
 * constructor"), and the onebot adapter itself `require`s koishi, so both must share the CommonJS instances.
 * Only type imports of koishi appear at the top; the modules load on the first start().
 */
import { createRequire } from 'node:module';
import type * as KoishiModule from 'koishi';
import type { Argv, Bot, Context, Element, Session } from 'koishi';
import type * as OneBotModule from 'koishi-plugin-adapter-onebot';
import type * as ServerModule from '@koishijs/plugin-server';
import type { CommandHandler, CommandInvocation, CommandResult } from '../../core/commands.js';
import { ConfigError, InputError, OmoideError } from '../../core/errors.js';
import { isAddressed, type IncomingMessage, type MessageHandler } from '../../core/message.js';
import type { Translator } from '../../core/i18n.js';
import { createLogger, registerSecret, type Logger } from '../../util/logger.js';
import { decodeCommandInvocation, koishiDeclaration, koishiOptionDeclaration, positionalOption } from './commands.js';
import { decodeOneBotSession } from './decode.js';
import { qqMessageLimit, splitForQQ } from './encode.js';
import { guardReverseWebSocket, isLoopbackHost, receiveSignedEvents } from './peer-guard.js';

export interface QQAdapterOptions {
  /**
   * 'ws': omoide dials the implementation's forward websocket (`endpoint`, e.g. ws://127.0.0.1:3001);
   * 'ws-reverse': the implementation dials omoide at ws://host:port/path; 'http': HTTP API at `endpoint`,
   * events POSTed to http://host:port/path.
   */
  readonly protocol: 'ws' | 'ws-reverse' | 'http';
  readonly endpoint?: string;
  /** The bot's QQ number. */
  readonly selfId: string;
  /** OneBot access_token. Sent as `Authorization: Bearer`; in ws-reverse mode omoide also checks it on connect. */
  readonly token?: string;
  /** http: OneBot `secret`; posted events must be signed with it (X-Signature: sha1=HMAC-SHA1 of the body). */
  readonly secret?: string;
  /** ws-reverse / http: the path omoide serves (default /onebot). */
  readonly path?: string;
  /**
   * ws-reverse / http: the address to listen on (default 127.0.0.1). Another address needs the token (ws-reverse) or
   * the secret (http): without it, whoever reaches the port would speak as the QQ implementation.
   */
  readonly host?: string;
  /** ws-reverse / http: the port to listen on; 0 = do not listen (another Koishi server plugin would). */
  readonly port?: number;
  readonly handler: MessageHandler;
  /** the adapter's own short notes come from locales/ */
  readonly translator: Translator;
  readonly commands: CommandHandler;
  /** These QQ numbers count as admins everywhere, besides group owners and admins. */
  readonly ownerIds?: readonly string[];
  /** Addressed messages from one user closer together than this (by QQ's event time, whole seconds) are ignored. */
  readonly cooldownMs: number;
  readonly logger?: Logger;
  /** Language of the adapter's own short notes ("sent you a private message"); default zh-CN. */
  readonly locale?: string;
  /** Characters per QQ message (default qqMessageLimit). */
  readonly messageLimit?: number;
  /** How long stop() waits for replies in flight before aborting them (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** 'ws' and 'http': how long start() waits for the bot to come online (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** How long one OneBot action may take before it fails (default 30 s). */
  readonly responseTimeoutMs?: number;
}

export interface QQAdapter {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once the OneBot peer has logged in (ws-reverse: after the implementation connected). */
  whenOnline(): Promise<void>;
  /** The port omoide listens on (ws-reverse / http), once started; null otherwise. */
  readonly port: number | null;
}

/** A file result longer than this many parts is cut: QQ has no portable file upload (see sendCommandResult). */
const maxFileParts = 10;


interface Koishi {
  readonly koishi: typeof KoishiModule;
  readonly OneBotBot: typeof OneBotModule.OneBotBot;
  readonly OneBot: typeof OneBotModule.OneBot;
  readonly Server: typeof ServerModule.Server;
}

let loaded: Koishi | null = null;
let loggerBridgeInstalled = false;

function loadKoishi(): Koishi {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const koishi = require('koishi') as typeof KoishiModule;
  const onebot = require('koishi-plugin-adapter-onebot') as typeof OneBotModule;
  const server = require('@koishijs/plugin-server') as typeof ServerModule;
  loaded = { koishi, OneBotBot: onebot.OneBotBot, OneBot: onebot.OneBot, Server: server.Server };
  return loaded;
}

/**
 * Koishi prints through reggol straight to stdout; route its lines into omoide's logger instead (warnings and
 * errors as such, the rest at debug), where registered secrets are masked. reggol's targets are process-wide.
 */
function bridgeKoishiLogs(koishi: typeof KoishiModule, logger: Logger): void {
  if (loggerBridgeInstalled) return;
  loggerBridgeInstalled = true;
  const bridge = logger.child('koishi');
  koishi.Logger.targets.splice(0, koishi.Logger.targets.length, {
    colors: 0,
    record(record) {
      const line = `[${record.name}] ${record.content}`;
      if (record.type === 'error') bridge.error(line);
      else if (record.type === 'warn') bridge.warn(line);
      else bridge.debug(line);
    },
  });
}

function validate(options: QQAdapterOptions): void {
  const where = 'qq adapter';
  if (!['ws', 'ws-reverse', 'http'].includes(options.protocol)) {
    throw new ConfigError('qq.protocol', "one of 'ws', 'ws-reverse', 'http'", where);
  }
  if (!/^\d{5,12}$/.test(options.selfId ?? '')) throw new ConfigError('qq.selfId', "the bot's QQ number", where);
  if (options.protocol !== 'ws-reverse' && !options.endpoint) {
    throw new ConfigError('qq.endpoint', `the OneBot ${options.protocol} address (e.g. ws://127.0.0.1:3001)`, where);
  }
  if (options.protocol !== 'ws' && options.port !== undefined) {
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new ConfigError('qq.port', 'a port number 0-65535 (0: do not listen)', where);
    }
  }
  if (!Number.isFinite(options.cooldownMs) || options.cooldownMs < 0) {
    throw new ConfigError('qq.cooldownMs', 'a number of milliseconds >= 0', where);
  }
  if (options.path !== undefined && !options.path.startsWith('/')) throw new ConfigError('qq.path', 'a path starting with /', where);
  const host = options.host ?? '127.0.0.1';
  if (options.protocol === 'ws-reverse' && !options.token && !isLoopbackHost(host)) {
    throw new ConfigError('qq.token', `an access token (ONEBOT_TOKEN) to listen for ws-reverse on ${host}, which is not loopback`, where);
  }
  if (options.protocol === 'http' && !options.secret && !isLoopbackHost(host)) {
    throw new ConfigError('qq.secret', `a OneBot secret (ONEBOT_SECRET) to receive http events on ${host}, which is not loopback`, where);
  }
}

export function createQQAdapter(options: QQAdapterOptions): QQAdapter {
  validate(options);
  registerSecret(options.token);
  registerSecret(options.secret);
  const logger = options.logger ?? createLogger('adapter:qq');
  const selfId = options.selfId;
  const ownerIds = options.ownerIds ?? [];
  const limit = options.messageLimit ?? qqMessageLimit;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  const path = options.path ?? '/onebot';
  const host = options.host ?? '127.0.0.1';
  const locale = options.locale ?? 'zh-CN';
  const text = {
    commandFailed: options.translator.t(locale, 'adapters.command-failed'),
    truncated: options.translator.t(locale, 'adapters.truncated'),
    sentPrivately: options.translator.t(locale, 'adapters.sent-privately'),
    privateFailed: options.translator.t(locale, 'adapters.private-failed'),
    subcommands: options.translator.t(locale, 'adapters.subcommands'),
  };

  let ctx: Context | null = null;
  // Forks in the order they were made; stop() disposes them in reverse.
  let forks: Array<{ dispose(): unknown }> = [];
  let accepting = false;
  let abort = new AbortController();
  let online = createDeferred();
  let listeningPort: number | null = null;
  const conversationQueues = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  const lastAcceptedAt = new Map<string, number>();

  function track(work: Promise<void>): Promise<void> {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return work;
  }

  // One promise chain per conversation, so each group's (and each private chat's) messages are answered in order.
  function enqueue(conversation: string, task: () => Promise<void>): void {
    const previous = conversationQueues.get(conversation) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => {
      logger.error('message task failed', { conversation, error });
    });
    conversationQueues.set(conversation, next);
    track(next);
    void next.finally(() => {
      if (conversationQueues.get(conversation) === next) conversationQueues.delete(conversation);
    });
  }

  /** Sends `parts` in order; in a group the first part quotes the asker's message and @s them. */
  async function sendParts(bot: Bot, target: Target, parts: readonly string[]): Promise<void> {
    const { h } = loadKoishi().koishi;
    for (const [index, part] of parts.entries()) {
      if (target.kind === 'private') {
        await bot.sendPrivateMessage(target.userId, [h.text(part)]);
      } else if (index === 0 && target.quote) {
        // h.text keeps model output literal: a string here would be parsed as Koishi element markup.
        const elements: Element[] = [h('quote', { id: target.quote.messageId }), h.at(target.quote.userId), h.text(` ${part}`)];
        await bot.sendMessage(target.channelId, elements);
      } else {
        await bot.sendMessage(target.channelId, [h.text(part)]);
      }
    }
  }

  async function answer(bot: Bot, message: IncomingMessage): Promise<void> {
    let reply;
    try {
      reply = await options.handler.handle(message, { signal: abort.signal });
    } catch (error) {
      if (abort.signal.aborted) logger.debug('reply abandoned: adapter stopping', { conversation: message.channelId });
      else logger.error('handler failed', { conversation: message.channelId, message: message.messageId, error });
      return;
    }
    if (!reply) return;
    const parts = splitForQQ(reply.text, limit);
    try {
      await sendParts(bot, targetFor(message), parts);
    } catch (error) {
      logger.error('could not send reply', { conversation: message.channelId, message: message.messageId, error });
    }
  }

  /** Returns whether the message was for the bot (taken, or dropped by the cooldown). */
  function onMessage(session: Session): boolean {
    if (!accepting) return true;
    const message = decodeOneBotSession(session, selfId);
    if (!message || !isAddressed(message)) return false;
    const at = message.timestamp.getTime();
    const last = lastAcceptedAt.get(message.author.id);
    if (options.cooldownMs > 0 && last !== undefined && at - last < options.cooldownMs) {
      logger.debug('cooldown: message ignored', { user: message.author.id, conversation: message.channelId });
      return true;
    }
    lastAcceptedAt.set(message.author.id, at);
    const bot = session.bot;
    enqueue(message.channelId, () => answer(bot, message));
    return true;
  }

  async function runCommand(session: Session, invocation: CommandInvocation): Promise<void> {
    let result: CommandResult;
    try {
      result = await options.commands.run(invocation);
    } catch (error) {
      logger.error('command failed', { command: invocation.command, subcommand: invocation.subcommand, error });
      result = { text: text.commandFailed, private: false };
    }
    await sendCommandResult(session, result);
  }

  /**
   * Private results go to the user by private message, with a short note in the group. A file goes as text:
   * OneBot v11 has no standard upload, and `upload_group_file` / `upload_private_file` (go-cqhttp, NapCat
   * extensions) need a path on the implementation's own disk, which omoide may not share. A file that fits in
   * one message goes where the text goes; a longer one goes privately, in at most `maxFileParts` parts.
   */
  async function sendCommandResult(session: Session, result: CommandResult): Promise<void> {
    const bot = session.bot;
    const userId = session.userId!;
    const inGroup = !session.isDirect;
    const textParts = splitForQQ(result.text, limit);
    const fileParts = result.file ? encodeFile(result.file, limit, text.truncated) : [];
    const fileFits = fileParts.length <= 1;
    const publicParts = result.private ? [] : [...textParts, ...(fileFits ? fileParts : [])];
    const privateParts = result.private ? [...textParts, ...fileParts] : fileFits ? [] : fileParts;
    const quote = { messageId: String(session.messageId ?? ''), userId };
    const groupTarget: Target = { kind: 'group', channelId: session.channelId!, quote: session.messageId ? quote : null };
    const privateTarget: Target = { kind: 'private', userId };

    if (!inGroup) {
      await sendParts(bot, privateTarget, [...publicParts, ...privateParts]);
      return;
    }
    if (publicParts.length > 0) await sendParts(bot, groupTarget, publicParts);
    if (privateParts.length === 0) return;
    let note = text.sentPrivately;
    try {
      await sendParts(bot, privateTarget, privateParts);
    } catch (error) {
      // Usually: not a friend, and the implementation refuses temporary sessions. Never fall back to the group.
      logger.warn('could not send a private command result', { user: userId, error });
      note = text.privateFailed;
    }
    await sendParts(bot, publicParts.length > 0 ? { ...groupTarget, quote: null } : groupTarget, [note]);
  }

  function registerCommands(context: Context): void {
    for (const definition of options.commands.definitions) {
      const usage = [
        text.subcommands,
        ...definition.subcommands.map((subcommand) => `/${definition.name} ${subcommand.name} — ${subcommand.description}`),
      ].join('\n');
      const parent = context.command(definition.name, definition.description, { captureQuote: false });
      parent.action(({ session }) => {
        if (!session || !accepting) return;
        return track(sendParts(session.bot, sessionTarget(session), [usage]).catch((error: unknown) => {
          logger.error('could not send command usage', { command: definition.name, error });
        }));
      });
      for (const subcommand of definition.subcommands) {
        const command = context.command(koishiDeclaration(definition.name, subcommand), subcommand.description, {
          captureQuote: false,
        });
        const positional = positionalOption(subcommand);
        for (const option of subcommand.options) {
          if (option !== positional) command.option(option.name, koishiOptionDeclaration(option));
        }
        command.action(({ session, options: flags, args }, value: unknown) => {
          if (!session || !accepting) return;
          const work = (async () => {
            let invocation: CommandInvocation;
            try {
              invocation = decodeCommandInvocation(
                session,
                { command: definition.name, subcommand, flags: flags ?? {}, positional: value, words: args ?? [] },
                ownerIds,
                (source) => loadKoishi().koishi.h.parse(source),
              );
            } catch (error) {
              if (!(error instanceof InputError)) throw error;
              await sendParts(session.bot, sessionTarget(session), [error.message]);
              return;
            }
            await runCommand(session, invocation);
          })().catch((error: unknown) => {
            logger.error('could not answer command', { command: definition.name, subcommand: subcommand.name, error });
          });
          return track(work);
        });
      }
    }
  }

  function guardListener(server: ServerModule.Server): void {
    if (options.protocol === 'ws-reverse') {
      if (options.token) guardReverseWebSocket(server, options.token, logger);
      else logger.warn('ws-reverse without an access token: any local program can speak as the QQ implementation');
    } else if (options.protocol === 'http') {
      if (!options.secret) logger.warn('http without a OneBot secret: any local program can post events as the QQ implementation');
      const { OneBot } = loadKoishi();
      receiveSignedEvents(server, {
        secret: options.secret ?? null,
        selfId,
        logger,
        dispatch: async (event) => {
          const bot = ctx?.bots.find((candidate) => candidate.selfId === selfId);
          if (bot) await OneBot.dispatchSession(bot as OneBotModule.OneBotBot<Context>, event as unknown as OneBotModule.OneBot.Payload);
        },
      });
    }
  }

  async function shutdown(context: Context): Promise<void> {
    // Disposing the adapter and server forks before the context avoids Koishi's noisy errors on shutdown.
    for (const fork of forks.reverse()) fork.dispose();
    forks = [];
    await context.stop();
  }

  return {
    get port() {
      return listeningPort;
    },

    whenOnline() {
      return online.promise;
    },

    async start() {
      if (ctx) throw new OmoideError('qq adapter: already started');
      const { koishi, OneBotBot, Server } = loadKoishi();
      bridgeKoishiLogs(koishi, logger);
      abort = new AbortController();
      online = createDeferred();
      const context = new koishi.Context({ prefix: ['/'] });
      ctx = context;
      forks = [context.plugin(koishi.HTTP)];
      if (options.protocol !== 'ws') {
        const port = options.port ?? 0;
        forks.push(context.plugin(Server, { host, port, maxPort: port }));
        // The server exists as soon as its plugin is forked and listens only once the context starts: guard it now.
        guardListener(serverOf(context));
      }
      context.on('login-updated', ({ bot }) => {
        if (bot.selfId !== selfId) return;
        if (bot.status === koishi.Universal.Status.ONLINE) {
          logger.info('online', { selfId, protocol: options.protocol });
          online.resolve();
        } else if (bot.status === koishi.Universal.Status.OFFLINE) {
          logger.warn('offline', { selfId, error: bot.error });
        }
      });
      // Koishi reads any private message whose first word names a command as that command ("memory is weird"
      // would run /memory). In private chats only '/'-prefixed text is a command; the rest is conversation.
      // Registered after Koishi's own parser but prepended (`before` puts hooks first), so this one decides.
      const requirePrefixInPrivate = (_content: string, session: Session): Argv | undefined =>
        session.isDirect && session.stripped.prefix === null ? koishi.Argv.parse('') : undefined;
      // Koishi types the hook as always returning an Argv, but its bail() moves on to the next hook on undefined.
      context.before('parse', requirePrefixInPrivate as (content: string, session: Session) => Argv);
      // Messages not for the bot go on to Koishi's own middleware (it suggests commands for "/pesrona").
      context.middleware((session, next) => (onMessage(session) ? undefined : next()));
      registerCommands(context);
      forks.push(context.plugin(OneBotBot, {
        protocol: options.protocol,
        selfId,
        ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
        ...(options.token !== undefined && { token: options.token }),
        ...(options.protocol !== 'ws' && { path }),
        responseTimeout: options.responseTimeoutMs ?? 30_000,
      } as OneBotModule.OneBotBot.Config));

      try {
        await context.start();
        if (options.protocol !== 'ws') {
          listeningPort = options.port ? serverOf(context).port : null;
          if (listeningPort) logger.info('listening for OneBot', { url: `http://${host}:${listeningPort}${path}` });
        }
        accepting = true;
        if (options.protocol !== 'ws-reverse') await withTimeout(online.promise, connectTimeoutMs, 'the OneBot peer did not log in');
      } catch (error) {
        accepting = false;
        ctx = null;
        listeningPort = null;
        await shutdown(context).catch((stopError: unknown) => logger.debug('cleanup after failed start', { error: stopError }));
        throw new OmoideError(`qq adapter: could not start (${options.protocol})`, { cause: error });
      }
    },

    async stop() {
      accepting = false;
      const running = ctx;
      if (!running) return;
      const pending = [...inFlight];
      if (pending.length > 0) {
        const finished = await Promise.race([
          Promise.allSettled(pending).then(() => true),
          delay(stopTimeoutMs).then(() => false),
        ]);
        if (!finished) {
          logger.warn('stopping with replies still running', { count: inFlight.size });
          abort.abort(new OmoideError('qq adapter stopped'));
        }
      }
      ctx = null;
      listeningPort = null;
      await shutdown(running);
      lastAcceptedAt.clear();
      conversationQueues.clear();
      logger.info('stopped');
    },
  };
}

type Target =
  | { readonly kind: 'private'; readonly userId: string }
  | { readonly kind: 'group'; readonly channelId: string; readonly quote: { messageId: string; userId: string } | null };

function targetFor(message: IncomingMessage): Target {
  if (message.addressing.direct || message.guildId === null) return { kind: 'private', userId: message.author.id };
  return { kind: 'group', channelId: message.channelId, quote: { messageId: message.messageId, userId: message.author.id } };
}

function sessionTarget(session: Session): Target {
  if (session.isDirect) return { kind: 'private', userId: session.userId! };
  const quote = session.messageId ? { messageId: String(session.messageId), userId: session.userId! } : null;
  return { kind: 'group', channelId: session.channelId!, quote };
}

/** A file as messages: its name and part number first, then the content, cut to at most maxFileParts parts. */
function encodeFile(file: { name: string; content: string }, limit: number, truncatedNote: string): string[] {
  const headerRoom = file.name.length + 16;
  const bodies = splitForQQ(file.content, Math.max(2, limit - headerRoom));
  if (bodies.length === 0) return [`📄 ${file.name}`];
  const shown = bodies.length > maxFileParts ? [...bodies.slice(0, maxFileParts - 1), truncatedNote] : bodies;
  return shown.map((body, index) => (shown.length === 1 ? `📄 ${file.name}\n${body}` : `📄 ${file.name} (${index + 1}/${shown.length})\n${body}`));
}

function serverOf(context: Context): ServerModule.Server {
  // Provided by the server plugin forked in start(); present once the context has started.
  const server = context.get('server') as ServerModule.Server | undefined;
  if (!server) throw new OmoideError('qq adapter: the Koishi server plugin did not start');
  return server;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

function createDeferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function withTimeout(promise: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OmoideError(`${what} within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
