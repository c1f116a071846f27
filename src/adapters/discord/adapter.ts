/**
 * The Discord adapter: a discord.js 14 Client that feeds addressed messages to the MessageHandler and wires the
 * platform-neutral commands to slash commands.
 *
 * Only messages addressed to the bot (an @mention, a call by name where the channel allows it, a reply to the bot,
 * a DM) reach the handler. Group context from the other messages is not kept for now.
 */
import {
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  type ChatInputCommandInteraction,
  type Interaction,
  type Message,
  type SendableChannels,
} from 'discord.js';
import type { CommandHandler, CommandResult } from '../../core/commands.js';
import { ConfigError, OmoideError } from '../../core/errors.js';
import { isAddressed, type MessageHandler } from '../../core/message.js';
import type { Translator } from '../../core/i18n.js';
import { createLogger, registerSecret, type Logger } from '../../util/logger.js';
import { decodeCommandInvocation, encodeCommandDefinitions, mapDiscordLocale } from './commands.js';
import { decodeDiscordMessage } from './decode.js';
import { discordAllowedMentions, splitForDiscord } from './encode.js';

export interface DiscordAdapterOptions {
  readonly token: string;
  /** REST base such as 'http://127.0.0.1:8080/api' (DISCORD_API_BASE): for proxies and tests. */
  readonly apiBase?: string;
  readonly handler: MessageHandler;
  /** the adapter's own short notes come from locales/ */
  readonly translator: Translator;
  readonly commands: CommandHandler;
  /** These users count as admins everywhere, besides members with Manage Server. */
  readonly ownerIds?: readonly string[];
  /** Addressed messages from one user closer together than this (by Discord's timestamps) are ignored. 0: off. */
  readonly cooldownMs: number;
  /** Channels (ids; a thread follows its parent; '*' = every channel) where saying a name addresses the bot. */
  readonly nameTriggerChannels?: readonly string[];
  /** The names that call the bot in a channel: the speaking character's name and aliases (they change with /persona). */
  readonly namesFor?: (guildId: string | null, channelId: string) => readonly string[];
  readonly logger?: Logger;
  /** How often the typing indicator is renewed while generating (Discord shows it for about 10 s). */
  readonly typingIntervalMs?: number;
  /** How long stop() waits for replies in flight before aborting them. */
  readonly stopTimeoutMs?: number;
  /** A command still running after this long is deferred (ephemeral), since Discord wants an answer within 3 s. */
  readonly commandDeferMs?: number;
}

export interface DiscordAdapter {
  start(): Promise<void>;
  stop(): Promise<void>;
}


export function createDiscordAdapter(options: DiscordAdapterOptions): DiscordAdapter {
  if (!options.token || options.token.trim().length === 0) {
    throw new ConfigError('discord.token', 'a bot token (DISCORD_TOKEN)', 'discord adapter');
  }
  if (!Number.isFinite(options.cooldownMs) || options.cooldownMs < 0) {
    throw new ConfigError('discord.cooldownMs', 'a number of milliseconds >= 0', 'discord adapter');
  }
  registerSecret(options.token);
  const logger = options.logger ?? createLogger('adapter:discord');
  const ownerIds = options.ownerIds ?? [];
  const typingIntervalMs = options.typingIntervalMs ?? 8_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const commandDeferMs = options.commandDeferMs ?? 2_000;

  let client: Client | null = null;
  let accepting = false;
  let abort = new AbortController();
  // One promise chain per channel, so one channel's messages are answered in the order they arrived.
  const channelQueues = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  const lastAcceptedAt = new Map<string, number>();

  function track(work: Promise<void>): void {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  function enqueue(channelId: string, task: () => Promise<void>): void {
    const previous = channelQueues.get(channelId) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => {
      logger.error('message task failed', { channel: channelId, error });
    });
    channelQueues.set(channelId, next);
    track(next);
    void next.finally(() => {
      if (channelQueues.get(channelId) === next) channelQueues.delete(channelId);
    });
  }

  function namesFor(message: Message): readonly string[] {
    const channels = options.nameTriggerChannels ?? [];
    const parentId = message.channel.isThread() ? message.channel.parentId : null;
    const enabled = channels.includes('*') || channels.includes(message.channelId) || (parentId !== null && channels.includes(parentId));
    return enabled && options.namesFor ? options.namesFor(message.guildId, message.channelId) : [];
  }

  async function answerMessage(message: Message, botUserId: string): Promise<void> {
    let referencedMessage: Message | null = null;
    const referenceId = message.reference?.messageId;
    // The gateway includes the referenced message (and so `repliedUser`) unless it was deleted: fetch only then.
    if (referenceId && !message.mentions.repliedUser && !message.channel.messages.cache.has(referenceId)) {
      try {
        referencedMessage = await message.fetchReference();
      } catch (error) {
        logger.debug('referenced message unavailable', { channel: message.channelId, message: referenceId, error });
      }
    }

    const incoming = decodeDiscordMessage(message, botUserId, { names: namesFor(message), referencedMessage });
    if (!incoming || !isAddressed(incoming)) return;

    const at = incoming.timestamp.getTime();
    const last = lastAcceptedAt.get(incoming.author.id);
    if (options.cooldownMs > 0 && last !== undefined && at - last < options.cooldownMs) {
      logger.debug('cooldown: message ignored', { user: incoming.author.id, channel: incoming.channelId });
      return;
    }
    lastAcceptedAt.set(incoming.author.id, at);

    const channel = message.channel.isSendable() ? message.channel : null;
    const typing = createTypingIndicator(channel, typingIntervalMs, logger);
    try {
      const reply = await options.handler.handle(incoming, { signal: abort.signal, onTyping: typing.start });
      typing.stop();
      if (!reply) return;
      const parts = splitForDiscord(reply.text);
      const [first, ...rest] = parts;
      if (first === undefined) return;
      // failIfNotExists false: when the user deleted the message meanwhile, the answer still arrives, unquoted.
      await message.reply({ content: first, allowedMentions: discordAllowedMentions, failIfNotExists: false });
      for (const part of rest) {
        if (!channel) break;
        await channel.send({ content: part, allowedMentions: discordAllowedMentions });
      }
    } catch (error) {
      logger.error('could not answer message', { channel: message.channelId, message: message.id, error });
    } finally {
      typing.stop();
    }
  }

  function onMessage(message: Message): void {
    if (!accepting || !client?.user) return;
    const botUserId = client.user.id;
    // Cheap filter before queueing: bots (this one included) and system messages are never answered.
    if (message.author.bot || message.system || message.webhookId) return;
    enqueue(message.channelId, () => answerMessage(message, botUserId));
  }

  async function runCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const invocation = decodeCommandInvocation(interaction, options.commands.definitions, ownerIds);
    if (!invocation) {
      logger.warn('unknown command (stale registration?)', { command: interaction.commandName });
      const content = options.translator.t(mapDiscordLocale(interaction.locale) ?? 'en-US', 'adapters.command-unknown');
      await interaction.reply({ content, flags: MessageFlags.Ephemeral });
      return;
    }

    let deferring: Promise<unknown> | null = null;
    // Ephemeral while deferred: the result's privacy is unknown yet, so err on the private side.
    const deferTimer = setTimeout(() => {
      deferring = interaction.deferReply({ flags: MessageFlags.Ephemeral }).catch((error: unknown) => {
        logger.warn('could not defer command reply', { command: invocation.command, error });
      });
    }, commandDeferMs);
    let result: CommandResult;
    try {
      result = await options.commands.run(invocation);
    } catch (error) {
      logger.error('command failed', { command: invocation.command, subcommand: invocation.subcommand, error });
      result = { text: options.translator.t(invocation.locale ?? 'en-US', 'adapters.command-failed'), private: true };
    } finally {
      clearTimeout(deferTimer);
    }
    if (deferring) await deferring;
    await sendCommandResult(interaction, result, deferring !== null);
  }

  async function sendCommandResult(
    interaction: ChatInputCommandInteraction,
    result: CommandResult,
    deferred: boolean,
  ): Promise<void> {
    const parts = splitForDiscord(result.text);
    const files = result.file
      ? [{ attachment: Buffer.from(result.file.content, 'utf8'), name: result.file.name }]
      : [];
    // Discord refuses a message with neither content nor a file.
    const [first = files.length > 0 ? '' : '✓', ...rest] = parts;
    const flags = result.private || deferred ? MessageFlags.Ephemeral : undefined;
    const content = first.length > 0 ? first : undefined;
    if (deferred) await interaction.editReply({ content, files, allowedMentions: discordAllowedMentions });
    else await interaction.reply({ content, files, flags, allowedMentions: discordAllowedMentions });
    for (const part of rest) {
      await interaction.followUp({ content: part, flags, allowedMentions: discordAllowedMentions });
    }
  }

  function onInteraction(interaction: Interaction): void {
    if (!accepting || !interaction.isChatInputCommand()) return;
    track(
      runCommand(interaction).catch((error: unknown) => {
        logger.error('could not answer command', { command: interaction.commandName, error });
      }),
    );
  }

  return {
    async start() {
      if (client) throw new OmoideError('discord adapter: already started');
      abort = new AbortController();
      const created = new Client({
        intents: [
          GatewayIntentBits.Guilds,
          GatewayIntentBits.GuildMessages,
          GatewayIntentBits.MessageContent,
          GatewayIntentBits.DirectMessages,
        ],
        // DM channels are never cached before their first message: without this, DMs are dropped.
        partials: [Partials.Channel],
        allowedMentions: discordAllowedMentions,
        ...(options.apiBase !== undefined && { rest: { api: options.apiBase } }),
      });
      client = created;
      created.on(Events.MessageCreate, onMessage);
      created.on(Events.InteractionCreate, onInteraction);
      created.on(Events.Error, (error) => logger.error('client error', { error }));
      created.on(Events.Warn, (warning) => logger.warn(warning));

      // Listen before login: against a fast gateway, ready can fire before login() resolves.
      const ready = new Promise<void>((resolve) => created.once(Events.ClientReady, () => resolve()));
      try {
        await created.login(options.token);
        await ready;
      } catch (error) {
        client = null;
        await created.destroy();
        throw new OmoideError('discord adapter: could not log in', { cause: error });
      }
      logger.info('connected', { user: created.user?.tag, guilds: created.guilds.cache.size });
      accepting = true;

      const definitions = encodeCommandDefinitions(options.commands.definitions);
      try {
        await created.application?.commands.set(definitions);
        logger.info('slash commands registered', { count: definitions.length });
      } catch (error) {
        // Chat still works without them; the next start registers again.
        logger.error('could not register slash commands', { error });
      }
    },

    async stop() {
      accepting = false;
      const running = client;
      if (!running) return;
      const pending = [...inFlight];
      if (pending.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), stopTimeoutMs);
        });
        const finished = Promise.allSettled(pending).then(() => false);
        if (await Promise.race([finished, timedOut])) {
          logger.warn('stopping with replies still running', { count: inFlight.size });
          abort.abort(new OmoideError('discord adapter stopped'));
        }
        clearTimeout(timer);
      }
      client = null;
      await running.destroy();
      lastAcceptedAt.clear();
      logger.info('disconnected');
    },
  };
}

interface TypingIndicator {
  start(): void;
  stop(): void;
}

/** Shows "typing…" from the first start() until stop(), renewing it; once stopped it never starts again. */
function createTypingIndicator(
  channel: SendableChannels | null,
  intervalMs: number,
  logger: Logger,
): TypingIndicator {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const send = (): void => {
    channel?.sendTyping().catch((error: unknown) => logger.debug('typing indicator failed', { error }));
  };
  return {
    start() {
      if (stopped || timer || !channel) return;
      send();
      timer = setInterval(send, intervalMs);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      timer = undefined;
    },
  };
}
