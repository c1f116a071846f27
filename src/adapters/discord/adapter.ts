/**
 * The Discord adapter: a discord.js 14 Client. It decodes each message into the normalized model and hands it to the
 * adapter runtime with an outlet that replies in the channel (the runtime decides whether and when to answer); it
 * registers the platform-neutral commands as slash commands and answers their interactions.
 */
import {
  Client,
  Events,
  GatewayIntentBits,
  Partials,
  type Interaction,
  type Message,
} from 'discord.js';
import type { CommandHandler } from '../../core/commands.js';
import { ConfigError, OmoideError } from '../../core/errors.js';
import type { Translator } from '../../core/i18n.js';
import { createLogger, registerSecret, type Logger } from '../../util/logger.js';
import type { MessageRuntime, Outlet } from '../runtime/runtime.js';
import { answerCommand } from './command-replies.js';
import { encodeCommandDefinitions } from './commands.js';
import { decodeDiscordMessage } from './decode.js';
import { discordAllowedMentions, discordMessageLimit } from './encode.js';

export interface DiscordAdapterOptions {
  readonly token: string;
  /** REST base such as 'http://127.0.0.1:8080/api' (DISCORD_API_BASE): for proxies and tests. */
  readonly apiBase?: string;
  /** Takes every decoded message: addressing, cooldown, order, the answer, its delivery, the bounded stop. */
  readonly runtime: MessageRuntime;
  /** the adapter's own short notes come from locales/ */
  readonly translator: Translator;
  readonly commands: CommandHandler;
  /** These users count as admins everywhere, besides members with Manage Server. */
  readonly ownerIds?: readonly string[];
  readonly logger?: Logger;
  /** How often the typing indicator is renewed while generating (Discord shows it for about 10 s). */
  readonly typingIntervalMs?: number;
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
  registerSecret(options.token);
  const { runtime } = options;
  const logger = options.logger ?? createLogger('adapter:discord');
  const typingIntervalMs = options.typingIntervalMs ?? 8_000;
  const commandReplies = {
    commands: options.commands,
    translator: options.translator,
    ownerIds: options.ownerIds ?? [],
    deferMs: options.commandDeferMs ?? 2_000,
    logger,
  };
  let client: Client | null = null;

  /** Replies in the message's channel: the first part as a reply to it, the rest as plain messages. */
  function outletFor(message: Message): Outlet {
    const channel = message.channel.isSendable() ? message.channel : null;
    return {
      messageLimit: discordMessageLimit,
      ...(channel && { typing: { intervalMs: typingIntervalMs, show: () => channel.sendTyping() } }),
      async send(parts) {
        const [first, ...rest] = parts;
        if (first === undefined) return;
        // failIfNotExists false: when the user deleted the message meanwhile, the answer still arrives, unquoted.
        await message.reply({ content: first, allowedMentions: discordAllowedMentions, failIfNotExists: false });
        for (const part of rest) {
          if (!channel) break;
          await channel.send({ content: part, allowedMentions: discordAllowedMentions });
        }
      },
    };
  }

  /**
   * The gateway sends a reply's referenced message (and so its author) unless it "did not attempt to": only then is
   * it fetched, and the message keeps its place in its channel's order meanwhile.
   */
  function unknownReference(message: Message): boolean {
    const referenceId = message.reference?.messageId;
    return referenceId !== undefined && !message.mentions.repliedUser && !message.channel.messages.cache.has(referenceId);
  }

  async function fetchReference(message: Message): Promise<Message | null> {
    try {
      return await message.fetchReference();
    } catch (error) {
      logger.debug('referenced message unavailable', { channel: message.channelId, message: message.reference?.messageId, error });
      return null;
    }
  }

  function onMessage(message: Message): void {
    if (!runtime.accepting || !client?.user) return;
    const botUserId = client.user.id;
    // Bots (this one included), webhooks and system messages are never answered: not even decoded.
    if (message.author.bot || message.system || message.webhookId) return;
    const channel = { platform: 'discord', guildId: message.guildId, channelId: message.channelId };
    // Decoded by the runtime, in the channel's order and inside its error boundary; rarely after a fetch.
    void runtime.receiveWhenDecoded(
      channel,
      async () => decodeDiscordMessage(message, botUserId, { referencedMessage: unknownReference(message) ? await fetchReference(message) : null }),
      outletFor(message),
    );
  }

  function onInteraction(interaction: Interaction): void {
    if (!runtime.accepting || !interaction.isChatInputCommand()) return;
    void runtime.track(
      answerCommand(interaction, commandReplies).catch((error: unknown) => {
        logger.error('could not answer command', { command: interaction.commandName, error });
      }),
    );
  }

  return {
    async start() {
      if (client) throw new OmoideError('discord adapter: already started');
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
      // discord.js reconnects and resumes by itself; these say when it does, and when it gave up.
      created.on(Events.ShardReconnecting, () => logger.info('gateway connection lost; reconnecting'));
      created.on(Events.ShardResume, (_shard, replayed) => logger.info('gateway session resumed', { replayed }));
      created.on(Events.ShardError, (error) => logger.error('gateway error', { error }));
      created.on(Events.ShardDisconnect, (event) => {
        // 4004 (the token was reset), 4014 (MessageContent not enabled for the bot), ...: no message arrives any more.
        logger.error('disconnected from the Discord gateway for good; fix the cause and restart', { code: event.code });
      });

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
      runtime.start();

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
      const running = client;
      await runtime.stop();
      if (!running) return;
      client = null;
      await running.destroy();
      logger.info('disconnected');
    },
  };
}
