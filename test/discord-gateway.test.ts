/**
 * The Discord adapter when the gateway misbehaves as Discord does: the real discord.js client against the fake, which
 * checks the token and intents, tells the client to reconnect (op 7), invalidates its session (op 9), drops the
 * connection, refuses a token (REST 401, gateway close 4004) and rate-limits a REST call (429).
 */
import { Client, Events, GatewayIntentBits, Partials, type Message } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createDiscordAdapter, type DiscordAdapter } from '../src/adapters/discord/adapter.js';
import type { CommandHandler } from '../src/core/commands.js';
import { OmoideError } from '../src/core/errors.js';
import { loadTranslator } from '../src/core/i18n.js';
import type { Logger } from '../src/util/logger.js';
import { localesDirectory } from '../src/util/paths.js';
import { intentBits, startFakeDiscord, type FakeDiscord, type FakeUser, type RecordedRequest } from './fakes/fake-discord.js';
import { createRecordingEngine, createTestRuntime, type RecordingEngine } from './helpers/runtime.js';
import { waitUntil } from './helpers/wait.js';

const token = 'fake-bot-token-ABCDEFGHIJKLMNOP';
const guildId = '200000000000000001';
const channelId = '300000000000000001';
const translator = loadTranslator(localesDirectory);
const alice: FakeUser = { id: '500000000000000001', username: 'alice' };
const commands: CommandHandler = { definitions: [], run: async () => ({ text: 'ok', private: false }) };

const isMessagePost = (request: RecordedRequest) => request.method === 'POST' && /^\/channels\/\d+\/messages$/.test(request.path);
const contentOf = (request: RecordedRequest) => (request.body as { content: string }).content;
const replies = (discord: FakeDiscord) => discord.requests.filter(isMessagePost).map(contentOf);

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {}, (_key, value: unknown) => (value instanceof Error ? value.message : value))}`);
  };
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}

let fake: FakeDiscord | null = null;
let adapter: DiscordAdapter | null = null;
let client: Client | null = null;
let logLines: string[] = [];

afterEach(async () => {
  await adapter?.stop();
  await client?.destroy();
  await fake?.close();
  adapter = null;
  client = null;
  fake = null;
});

function createAdapter(discord: FakeDiscord, engine: RecordingEngine, adapterToken = token): DiscordAdapter {
  logLines = [];
  const logger = recordingLogger(logLines);
  adapter = createDiscordAdapter({
    token: adapterToken, apiBase: discord.apiBase, runtime: createTestRuntime(engine, { logger }), commands, translator, logger,
  });
  return adapter;
}

async function setup(engine: RecordingEngine = createRecordingEngine((message) => `re: ${message.text}`)): Promise<FakeDiscord> {
  fake = await startFakeDiscord({ token });
  await createAdapter(fake, engine).start();
  return fake;
}

/** Mentions the bot and resolves once the reply to exactly this text has been posted. */
async function askAndWait(discord: FakeDiscord, text: string): Promise<void> {
  discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> ${text}` });
  await discord.waitForRequest((request) => isMessagePost(request) && contentOf(request) === `re: ${text}`);
}

describe('discord: identify', () => {
  it('identifies with its token and the intents it needs: Guilds, GuildMessages, MessageContent, DirectMessages', async () => {
    const discord = await setup();
    const needed = intentBits.guilds | intentBits.guildMessages | intentBits.messageContent | intentBits.directMessages;
    expect(discord.identifies).toEqual([{ token, intents: needed }]);
  });

  it('the fake withholds content from a client without MessageContent, except where Discord gives it anyway', async () => {
    // A plain client that forgot the privileged intent: what the adapter would see if it dropped MessageContent.
    fake = await startFakeDiscord({ token });
    const discord = fake;
    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages],
      partials: [Partials.Channel],
      rest: { api: discord.apiBase },
    });
    const seen: Message[] = [];
    client.on(Events.MessageCreate, (message) => void seen.push(message));
    const ready = new Promise((resolve) => client!.once(Events.ClientReady, resolve));
    await client.login(token);
    await ready;
    discord.dispatchMessage({ channelId, guildId, author: alice, content: 'Alice, are you there?' });
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> hello` });
    discord.dispatchMessage({ channelId: '300000000000000099', guildId: null, author: alice, content: 'a DM' });
    await waitUntil(() => seen.length === 3);
    expect(seen.map((message) => message.content)).toEqual(['', `<@${discord.bot.id}> hello`, 'a DM']);
  });
});

describe('discord: reconnects', () => {
  it('after op 7 resumes the session, answers what was said meanwhile once, and goes on answering', async () => {
    const discord = await setup();
    await askAndWait(discord, 'before');
    discord.requestReconnect();
    await waitUntil(() => discord.liveSessions === 0);
    // Said while the client was away: the session keeps it and the RESUME replays it.
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> meanwhile` });
    await discord.waitForRequest((request) => isMessagePost(request) && contentOf(request) === 're: meanwhile');
    expect(discord.resumes).toHaveLength(1);
    expect(discord.identifies).toHaveLength(1);
    expect(logLines.some((line) => line.startsWith('info gateway session resumed'))).toBe(true);
    await askAndWait(discord, 'after');
    expect(replies(discord)).toEqual(['re: before', 're: meanwhile', 're: after']);
  });

  it('after a dropped connection resumes and answers again; a reply generated across the drop still arrives', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const engine = createRecordingEngine(async (message) => {
      if (message.text === 'slow') await held;
      return `re: ${message.text}`;
    });
    const discord = await setup(engine);
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> slow` });
    await waitUntil(() => engine.received.length === 1);
    discord.dropConnections();
    await waitUntil(() => discord.resumes.length === 1 && discord.liveSessions === 1);
    release();
    await discord.waitForRequest((request) => isMessagePost(request) && contentOf(request) === 're: slow');
    await askAndWait(discord, 'after the drop');
    expect(replies(discord)).toEqual(['re: slow', 're: after the drop']);
    expect(discord.identifies).toHaveLength(1);
  });

  it('after op 9 (session invalid) identifies again and answers again', async () => {
    const discord = await setup();
    await askAndWait(discord, 'before');
    discord.invalidateSessions(false);
    // discord.js waits out Discord's identify limit (one per 5 s) before the second IDENTIFY.
    await waitUntil(() => discord.identifies.length === 2 && discord.liveSessions === 1, { timeoutMs: 15_000 });
    await askAndWait(discord, 'after');
    expect(replies(discord)).toEqual(['re: before', 're: after']);
    expect(discord.identifies.every((identify) => identify.token === token)).toBe(true);
  }, 30_000);

  it('after a resumable op 9 resumes the same session', async () => {
    const discord = await setup();
    discord.invalidateSessions(true);
    await waitUntil(() => discord.resumes.length === 1);
    await askAndWait(discord, 'still here');
    expect(discord.identifies).toHaveLength(1);
  });
});

describe('discord: refused logins', () => {
  /** start()'s failure, which must come quickly. */
  async function startFailure(start: () => Promise<void>): Promise<{ error: unknown; ms: number }> {
    const began = performance.now();
    const error = await start().then(() => null, (thrown: unknown) => thrown);
    return { error, ms: performance.now() - began };
  }

  it('a wrong token (REST 401, as Discord answers GET /gateway/bot) fails start() at once with an OmoideError about the login', async () => {
    fake = await startFakeDiscord({ token });
    const { error, ms } = await startFailure(() => createAdapter(fake!, createRecordingEngine(() => 'never'), 'not-the-token').start());
    expect(error).toBeInstanceOf(OmoideError);
    expect((error as Error).message).toMatch(/could not log in/);
    expect(ms).toBeLessThan(5_000);
    expect(fake.identifies).toEqual([]);
    adapter = null; // nothing left to stop
  });

  it('a token refused by the gateway (close 4004) fails start() quickly with an OmoideError about the login', async () => {
    fake = await startFakeDiscord({ token });
    const discord = fake;
    // The token is reset while the bot starts: REST took it, the gateway no longer does.
    discord.onRequest((request) => {
      if (request.path === '/gateway/bot') discord.resetToken('a-new-token');
    });
    const { error, ms } = await startFailure(() => createAdapter(discord, createRecordingEngine(() => 'never')).start());
    expect(error).toBeInstanceOf(OmoideError);
    expect((error as Error).message).toMatch(/could not log in/);
    expect(String((error as Error).cause)).toMatch(/Authentication failed/);
    expect(ms).toBeLessThan(5_000);
    expect(discord.identifies).toEqual([{ token, intents: expect.any(Number) }]);
    adapter = null;
  });
});

describe('discord: a session refused later', () => {
  it('a token reset while running (the RESUME closed with 4004) is logged as an error, not lost in silence', async () => {
    const discord = await setup();
    await askAndWait(discord, 'before');
    discord.resetToken('a-new-token');
    discord.requestReconnect();
    await waitUntil(() => logLines.some((line) => line.startsWith('error disconnected from the Discord gateway for good')), {
      describe: () => logLines.join('\n'),
    });
    expect(logLines.find((line) => line.includes('for good'))).toContain('"code":4004');
    expect(logLines.some((line) => line.startsWith('error gateway error') && line.includes('Authentication failed'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(token);
  });
});

describe('discord: REST rate limits', () => {
  it('a 429 on the reply is waited out and retried: the reply arrives once', async () => {
    const discord = await setup();
    discord.rateLimitNext(isMessagePost, { retryAfter: 0.1 });
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> limited` });
    await waitUntil(() => discord.sentMessages.length === 1);
    const posts = discord.requests.filter(isMessagePost);
    // Two attempts reached the fake; one message exists.
    expect(posts.map(contentOf)).toEqual(['re: limited', 're: limited']);
    expect(discord.sentMessages.map((message) => message.content)).toEqual(['re: limited']);
    await askAndWait(discord, 'next');
    expect(discord.sentMessages.map((message) => message.content)).toEqual(['re: limited', 're: next']);
  });
});
