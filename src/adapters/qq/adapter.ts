/**
 * The QQ adapter: a Koishi 4 context with koishi-plugin-adapter-onebot, talking OneBot v11 to an implementation such
 * as NapCat, Lagrange or go-cqhttp. Each message is decoded into the normalized model and handed to the adapter
 * runtime with an outlet that answers in the group (quoting the asker) or the private chat; `/persona`, `/memory`, ...
 * are Koishi commands (command-replies.ts). In ws-reverse and http modes omoide listens, guarded by peer-guard.ts.
 */
import type { Argv, Context, Session } from 'koishi';
import type * as OneBotModule from 'koishi-plugin-adapter-onebot';
import type * as ServerModule from '@koishijs/plugin-server';
import type { CommandHandler } from '../../core/commands.js';
import { OmoideError } from '../../core/errors.js';
import type { Translator } from '../../core/i18n.js';
import { isAddressed } from '../../core/message.js';
import { createLogger, registerSecret, type Logger } from '../../util/logger.js';
import type { MessageRuntime, Outlet } from '../runtime/runtime.js';
import { registerCommands } from './command-replies.js';
import { decodeOneBotSession } from './decode.js';
import { bridgeKoishiLogs, loadKoishi } from './koishi.js';
import { guardReverseWebSocket, oneReverseConnection, receiveSignedEvents } from './peer-guard.js';
import { qqMessageLimit, sendParts, targetOf } from './send.js';
import type { QQConnectionSettings } from './settings.js';

export interface QQAdapterOptions {
  /** The connection, validated by qqSettingsSchema. */
  readonly settings: QQConnectionSettings;
  /** Takes every decoded message: addressing, cooldown, order, the answer, its delivery, the bounded stop. */
  readonly runtime: MessageRuntime;
  /** the adapter's own short notes come from locales/ */
  readonly translator: Translator;
  readonly commands: CommandHandler;
  readonly logger?: Logger;
  /** Language of the adapter's own short notes ("sent you a private message"); default zh-CN. */
  readonly locale?: string;
  /** Characters per QQ message (default qqMessageLimit). */
  readonly messageLimit?: number;
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

export function createQQAdapter(options: QQAdapterOptions): QQAdapter {
  const { settings, runtime } = options;
  registerSecret(settings.token);
  registerSecret(settings.secret);
  const logger = options.logger ?? createLogger('adapter:qq');
  const selfId = settings.selfId;
  const messageLimit = options.messageLimit ?? qqMessageLimit;
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;

  let ctx: Context | null = null;
  // Forks in the order they were made; stop() disposes them in reverse.
  let forks: Array<{ dispose(): unknown }> = [];
  let online = createDeferred();
  let listeningPort: number | null = null;
  /** 'ws': whether a lost connection is dialed again (from a successful start until stop). */
  let redial = false;

  /**
   * Hands a session on when it decodes to a message (whether to answer it is the runtime's to decide); returns
   * whether Koishi's own middleware should leave it alone.
   */
  function onSession(session: Session): boolean {
    if (!runtime.accepting) return true;
    const message = decodeOneBotSession(session, selfId);
    if (!message) return false;
    const bot = session.bot;
    const target = targetOf(message);
    const outlet: Outlet = { messageLimit, send: (parts) => sendParts(bot, target, parts) };
    void runtime.receive(message, outlet);
    // Koishi's own middleware (it suggests commands for "/pesrona") sees only messages not addressed to the bot.
    return isAddressed(message);
  }

  /** ws-reverse and http listen: guard the server before it listens (it exists as soon as its plugin is forked). */
  function guardListener(server: ServerModule.Server): void {
    if (settings.protocol === 'ws-reverse') {
      // Each guard goes first in the server's stack: the token is checked before the connection replaces another.
      oneReverseConnection(server, selfId, logger);
      if (settings.token) guardReverseWebSocket(server, settings.token, logger);
      else logger.warn('ws-reverse without an access token: any local program can speak as the QQ implementation');
    } else if (settings.protocol === 'http') {
      if (!settings.secret) logger.warn('http without a OneBot secret: any local program can post events as the QQ implementation');
      const { OneBot } = loadKoishi();
      receiveSignedEvents(server, {
        secret: settings.secret ?? null,
        selfId,
        logger,
        dispatch: async (event) => {
          const bot = ctx?.bots.find((candidate) => candidate.selfId === selfId);
          if (bot) await OneBot.dispatchSession(bot as OneBotModule.OneBotBot<Context>, event as unknown as OneBotModule.OneBot.Payload);
        },
      });
    }
  }

  function createContext(): Context {
    const { koishi, OneBotBot, Server } = loadKoishi();
    const context = new koishi.Context({ prefix: ['/'] });
    forks = [context.plugin(koishi.HTTP)];
    if (settings.protocol !== 'ws') {
      const port = settings.port ?? 0;
      forks.push(context.plugin(Server, { host: settings.host, port, maxPort: port }));
      guardListener(serverOf(context));
    }
    context.on('login-updated', ({ bot }) => {
      if (bot.selfId !== selfId) return;
      if (bot.status === koishi.Universal.Status.ONLINE) {
        logger.info('online', { selfId, protocol: settings.protocol });
        online.resolve();
      } else if (bot.status === koishi.Universal.Status.OFFLINE) {
        logger.warn('offline', { selfId, error: bot.error });
        if (settings.protocol === 'ws' && redial) {
          // koishi-plugin-adapter-onebot 6.9 sets the bot offline when its socket closes, and Koishi retries only an
          // active bot: left alone, 'ws' would never dial the implementation again. Starting the bot dials at once,
          // then retries at Koishi's interval (and comes back here after its last try).
          setImmediate(() => {
            if (redial && ctx === context) void bot.start();
          });
        }
      }
    });
    // Koishi reads any private message whose first word names a command as that command ("memory is weird"
    // would run /memory). In private chats only '/'-prefixed text is a command; the rest is conversation.
    // Registered after Koishi's own parser but prepended (`before` puts hooks first), so this one decides.
    const requirePrefixInPrivate = (_content: string, session: Session): Argv | undefined =>
      session.isDirect && session.stripped.prefix === null ? koishi.Argv.parse('') : undefined;
    // Koishi types the hook as always returning an Argv, but its bail() moves on to the next hook on undefined.
    context.before('parse', requirePrefixInPrivate as (content: string, session: Session) => Argv);
    context.middleware((session, next) => (onSession(session) ? undefined : next()));
    registerCommands(context, {
      commands: options.commands,
      runtime,
      translator: options.translator,
      locale: options.locale ?? 'zh-CN',
      ownerIds: settings.ownerIds,
      messageLimit,
      logger,
    });
    forks.push(context.plugin(OneBotBot, {
      protocol: settings.protocol,
      selfId,
      ...(settings.endpoint !== undefined && { endpoint: settings.endpoint }),
      ...(settings.token !== undefined && { token: settings.token }),
      ...(settings.protocol !== 'ws' && { path: settings.path }),
      responseTimeout: options.responseTimeoutMs ?? 30_000,
    } as OneBotModule.OneBotBot.Config));
    return context;
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
      bridgeKoishiLogs(logger);
      online = createDeferred();
      const context = createContext();
      ctx = context;
      try {
        await context.start();
        if (settings.protocol !== 'ws') {
          listeningPort = settings.port ? serverOf(context).port : null;
          if (listeningPort) logger.info('listening for OneBot', { url: `http://${settings.host}:${listeningPort}${settings.path}` });
        }
        runtime.start();
        if (settings.protocol !== 'ws-reverse') await withTimeout(online.promise, connectTimeoutMs, 'the OneBot peer did not log in');
        redial = true;
      } catch (error) {
        await runtime.stop();
        ctx = null;
        listeningPort = null;
        await shutdown(context).catch((stopError: unknown) => logger.debug('cleanup after failed start', { error: stopError }));
        throw new OmoideError(`qq adapter: could not start (${settings.protocol})`, { cause: error });
      }
    },

    async stop() {
      const running = ctx;
      redial = false;
      await runtime.stop();
      if (!running) return;
      ctx = null;
      listeningPort = null;
      await shutdown(running);
      logger.info('stopped');
    },
  };
}

function serverOf(context: Context): ServerModule.Server {
  // Provided by the server plugin forked in createContext.
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
