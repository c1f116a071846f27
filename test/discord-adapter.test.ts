import { afterEach, describe, expect, it } from 'vitest';
import { createDiscordAdapter, type DiscordAdapter, type DiscordAdapterOptions } from '../src/adapters/discord/adapter.js';
import type { CommandDefinition, CommandHandler, CommandInvocation, CommandResult } from '../src/core/commands.js';
import type { Logger } from '../src/util/logger.js';
import { loadTranslator } from '../src/core/i18n.js';
import { localesDirectory } from '../src/util/paths.js';
import type { MessageRuntime, MessageRuntimeOptions } from '../src/adapters/runtime/runtime.js';
import { nextSnowflake, startFakeDiscord, type FakeDiscord, type FakeUser, type RecordedRequest } from './fakes/fake-discord.js';
import { makeCharacter } from './helpers/character.js';
import { createRecordingEngine, createTestRuntime, type RecordingEngine } from './helpers/runtime.js';
import { waitUntil } from './helpers/wait.js';

const token = 'fake-bot-token-ABCDEFGHIJKLMNOP';
const guildId = '200000000000000001';
const channelId = '300000000000000001';
const translator = loadTranslator(localesDirectory);
const alice: FakeUser = { id: '500000000000000001', username: 'alice', global_name: 'Alice G' };
const bob: FakeUser = { id: '500000000000000002', username: 'bob' };
const otherBot: FakeUser = { id: '500000000000000003', username: 'otherbot', bot: true };

const definitions: CommandDefinition[] = [
  {
    name: 'memory',
    description: 'What the character remembers',
    subcommands: [
      { name: 'export', description: 'Export your memories', options: [], adminOnly: false },
      {
        name: 'forget',
        description: 'Forget a user',
        adminOnly: true,
        options: [
          { name: 'confirm', description: 'Really', type: 'boolean', required: false },
          { name: 'user', description: 'Who', type: 'user', required: true },
        ],
      },
    ],
  },
  {
    name: 'persona',
    description: 'Switch the character',
    subcommands: [
      { name: 'set', description: 'Set it', adminOnly: true, options: [{ name: 'name', description: 'Name', type: 'string', required: true }] },
    ],
  },
];



function createRecordingCommands(
  answer: (invocation: CommandInvocation) => CommandResult = () => ({ text: 'ok', private: false }),
): CommandHandler & { invocations: CommandInvocation[] } {
  const invocations: CommandInvocation[] = [];
  return {
    definitions,
    invocations,
    async run(invocation) {
      invocations.push(invocation);
      return answer(invocation);
    },
  };
}

function createRecordingLogger(lines: string[]): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {}, (_key, value: unknown) => (value instanceof Error ? `${value.message} ${String(value.cause)}` : value))}`);
  };
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}

let fake: FakeDiscord | null = null;
let adapter: DiscordAdapter | null = null;
let logLines: string[] = [];

afterEach(async () => {
  await adapter?.stop();
  await fake?.close();
  adapter = null;
  fake = null;
});

async function setup(
  engine: RecordingEngine,
  commands: CommandHandler = createRecordingCommands(),
  extra: Partial<DiscordAdapterOptions> = {},
  runtimeOptions: Partial<MessageRuntimeOptions> = {},
): Promise<FakeDiscord> {
  fake = await startFakeDiscord();
  logLines = [];
  const logger = createRecordingLogger(logLines);
  adapter = createDiscordAdapter({
    token,
    apiBase: fake.apiBase,
    runtime: createTestRuntime(engine, { logger, ...runtimeOptions }),
    commands,
    translator,
    ownerIds: ['999999999999999999'],
    logger,
    ...extra,
  });
  await adapter.start();
  return fake;
}

const isMessagePost = (request: RecordedRequest) => request.method === 'POST' && /^\/channels\/\d+\/messages$/.test(request.path);
const isTyping = (request: RecordedRequest) => request.method === 'POST' && request.path.endsWith('/typing');
const body = (request: RecordedRequest) => request.body as Record<string, any>;

describe('discord adapter: messages', () => {
  it('answers an @mention once, quoting it, with safe allowed mentions and readable text', async () => {
    const handler = createRecordingEngine((message) => `Hello ${message.author.displayName}!`);
    const discord = await setup(handler);
    const sent = discord.dispatchMessage({
      channelId, guildId, author: alice, nick: 'Ally', content: `<@${discord.bot.id}> hi there <@${bob.id}>`, mentions: [bob],
      timestamp: '2024-05-01T10:00:00.000Z',
    });
    const request = await discord.waitForRequest(isMessagePost);
    expect(request.path).toBe(`/channels/${channelId}/messages`);
    expect(body(request).content).toBe('Hello Ally!');
    expect(body(request).message_reference).toMatchObject({ message_id: sent.id, fail_if_not_exists: false });
    expect(body(request).allowed_mentions).toEqual({ parse: [], replied_user: true });

    expect(handler.received).toHaveLength(1);
    const incoming = handler.received[0]!;
    expect(incoming).toMatchObject({
      platform: 'discord', guildId, channelId, messageId: sent.id, text: 'hi there @bob',
      author: { id: alice.id, displayName: 'Ally', isBot: false },
      addressing: { mentioned: true, repliedToBot: false, direct: false }, replyTo: null,
    });
    expect(incoming.timestamp.toISOString()).toBe('2024-05-01T10:00:00.000Z');

    // A later message proves the first produced exactly one reply.
    discord.dispatchMessage({ channelId, guildId, author: bob, content: `<@${discord.bot.id}> again` });
    await waitUntil(() => discord.requests.filter(isMessagePost).length === 2);
    expect(discord.requests.filter(isMessagePost).map((r) => body(r).content)).toEqual(['Hello Ally!', 'Hello bob!']);
    expect(logLines.join('\n')).not.toContain(token);
  });

  it('ignores plain messages and other bots, but answers a reply to its own message', async () => {
    const handler = createRecordingEngine((message) => `re: ${message.text}`);
    const discord = await setup(handler);
    discord.dispatchMessage({ channelId, guildId, author: alice, content: 'just chatting' });
    discord.dispatchMessage({ channelId, guildId, author: otherBot, content: `<@${discord.bot.id}> bot talk` });
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> first` });
    await waitUntil(() => discord.requests.filter(isMessagePost).length === 1);
    const botMessage = discord.sentMessages[0]!;

    discord.dispatchMessage({
      channelId, guildId, author: bob, content: 'and you?', referencedMessage: { ...botMessage, guild_id: guildId },
    });
    // A reply to someone else's message is not for the bot.
    const humanMessage = discord.dispatchMessage({ channelId, guildId, author: alice, content: 'hey bob' });
    discord.dispatchMessage({ channelId, guildId, author: bob, content: 'yes?', referencedMessage: humanMessage });
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> last` });
    await waitUntil(() => discord.requests.filter(isMessagePost).length === 3);

    expect(handler.received.map((message) => message.text)).toEqual(['first', 'and you?', 'last']);
    expect(handler.received[1]).toMatchObject({
      addressing: { mentioned: false, repliedToBot: true, direct: false },
      replyTo: { messageId: botMessage.id, authorId: discord.bot.id, text: 're: first' },
    });
  });

  it('answers a DM', async () => {
    const handler = createRecordingEngine(() => 'private hello');
    const discord = await setup(handler);
    const dmChannel = nextSnowflake();
    discord.dispatchMessage({ channelId: dmChannel, guildId: null, author: alice, content: 'hello in private' });
    const request = await discord.waitForRequest(isMessagePost);
    expect(request.path).toBe(`/channels/${dmChannel}/messages`);
    expect(body(request).content).toBe('private hello');
    expect(handler.received[0]).toMatchObject({
      guildId: null, channelId: dmChannel, text: 'hello in private',
      author: { displayName: 'Alice G' }, addressing: { mentioned: false, direct: true },
    });
  });

  it('answers a call by name only in channels configured for it', async () => {
    const handler = createRecordingEngine(() => 'you called?', makeCharacter({ name: 'Alice', aliases: ['爱丽丝'] }));
    const discord = await setup(handler, undefined, {}, { nameTriggerChannels: [channelId] });
    const otherChannel = '300000000000000002';
    discord.dispatchMessage({ channelId: otherChannel, guildId, author: bob, content: 'no Alice here' });
    discord.dispatchMessage({ channelId, guildId, author: bob, content: 'Malice is not a name' });
    discord.dispatchMessage({ channelId, guildId, author: bob, content: '爱丽丝，在吗？' });
    discord.dispatchMessage({ channelId: otherChannel, guildId, author: bob, content: `<@${discord.bot.id}> marker` });
    await waitUntil(() => discord.requests.filter(isMessagePost).length === 2);
    // Channels have separate queues: compare without order.
    expect(handler.received.map((message) => [message.channelId, message.text]).sort()).toEqual([
      [channelId, '爱丽丝，在吗？'],
      [otherChannel, 'marker'],
    ]);
    expect(handler.received.find((message) => message.channelId === channelId)!.addressing).toEqual({ mentioned: true, repliedToBot: false, direct: false });
  });

  it('splits a 5,000-character answer into ordered parts of at most 2,000', async () => {
    const sentences = Array.from({ length: 100 }, (_, i) => `This is sentence number ${String(i).padStart(3, '0')} of a long tale that goes on and on.`);
    const answer = sentences.join(' ');
    expect(answer.length).toBeGreaterThan(4500);
    const discord = await setup(createRecordingEngine(() => answer));
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> tell me a story` });
    await waitUntil(() => discord.requests.filter(isMessagePost).map((r) => String(body(r).content)).join(' ').length >= answer.length);
    const posts = discord.requests.filter(isMessagePost);
    expect(posts.length).toBeGreaterThanOrEqual(3);
    const contents = posts.map((post) => String(body(post).content));
    expect(contents.every((content) => content.length <= 2000 && content.length > 0)).toBe(true);
    expect(contents.join(' ')).toBe(answer);
    expect(body(posts[0]!).message_reference).toBeDefined();
    expect(posts.slice(1).every((post) => body(post).message_reference === undefined)).toBe(true);
    expect(posts.every((post) => JSON.stringify(body(post).allowed_mentions) === '{"parse":[],"replied_user":true}')).toBe(true);
  });

  it('shows typing while generating and stops it after the reply', async () => {
    const otherChannel = '300000000000000002';
    const typingIn = (channel: string) => discord!.requests.filter((request) => isTyping(request) && request.path === `/channels/${channel}/typing`).length;
    let discord: FakeDiscord | null = null;
    const handler = createRecordingEngine(async (message) => {
      // Hold each answer until its indicator has been renewed: twice here, and six times in the other channel, which
      // is the clock the first channel's silence is measured by (both renew every 20 ms).
      const renewals = message.channelId === channelId ? 2 : 6;
      await waitUntil(() => typingIn(message.channelId) >= renewals);
      return 'done typing';
    });
    discord = await setup(handler, undefined, { typingIntervalMs: 20 });
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> think hard` });
    await discord.waitForRequest(isMessagePost);
    // Typing comes before the reply.
    expect(discord.requests.findIndex(isTyping)).toBeLessThan(discord.requests.findIndex(isMessagePost));

    // The first channel's count once the other channel starts typing (a renewal sent just before the reply has
    // arrived by then), and again after five more renewals there: a renewal still running would have shown up.
    discord.dispatchMessage({ channelId: otherChannel, guildId, author: bob, content: `<@${discord.bot.id}> and you` });
    await waitUntil(() => typingIn(otherChannel) >= 1);
    const typingCount = typingIn(channelId);
    expect(typingCount).toBeGreaterThanOrEqual(2);
    await waitUntil(() => discord!.requests.filter(isMessagePost).length === 2);
    expect(typingIn(otherChannel)).toBeGreaterThanOrEqual(6);
    expect(typingIn(channelId)).toBe(typingCount);
  });

  it('answers two messages of one channel in order even when the first is slower', async () => {
    const events: string[] = [];
    const arrived: string[] = [];
    const handler = createRecordingEngine(async (message) => {
      events.push(`start ${message.text}`);
      // The first answer is held until the second message has reached the runtime: it must still wait its turn.
      if (message.text === 'first') await waitUntil(() => arrived.length === 2);
      events.push(`end ${message.text}`);
      return `answer to ${message.text}`;
    });
    const runtime = createTestRuntime(handler);
    const watched: MessageRuntime = {
      receive: (message, outlet) => {
        arrived.push(message.text);
        return runtime.receive(message, outlet);
      },
      receiveWhenDecoded: (channel, decode, outlet) =>
        runtime.receiveWhenDecoded(channel, async () => {
          const message = await decode();
          if (message) arrived.push(message.text);
          return message;
        }, outlet),
      stats: () => runtime.stats(),
      track: (work) => runtime.track(work),
      get accepting() {
        return runtime.accepting;
      },
      start: () => runtime.start(),
      stop: () => runtime.stop(),
    };
    const discord = await setup(handler, undefined, { runtime: watched });
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> first` });
    discord.dispatchMessage({ channelId, guildId, author: bob, content: `<@${discord.bot.id}> second` });
    await waitUntil(() => discord.requests.filter(isMessagePost).length === 2);
    expect(discord.requests.filter(isMessagePost).map((r) => body(r).content)).toEqual(['answer to first', 'answer to second']);
    expect(events).toEqual(['start first', 'end first', 'start second', 'end second']);
  });

  it('ignores a user within the cooldown, by message timestamps', async () => {
    const handler = createRecordingEngine((message) => `ok ${message.text}`);
    const discord = await setup(handler, undefined, {}, { cooldownMs: 5_000 });
    const mention = `<@${discord.bot.id}>`;
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `${mention} one`, timestamp: '2024-05-01T10:00:00.000Z' });
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `${mention} two`, timestamp: '2024-05-01T10:00:02.000Z' });
    discord.dispatchMessage({ channelId, guildId, author: bob, content: `${mention} three`, timestamp: '2024-05-01T10:00:03.000Z' });
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `${mention} four`, timestamp: '2024-05-01T10:00:06.000Z' });
    await waitUntil(() => discord.requests.filter(isMessagePost).length === 3);
    expect(handler.received.map((message) => message.text)).toEqual(['one', 'three', 'four']);
    expect(logLines.some((line) => line.startsWith('debug cooldown'))).toBe(true);
  });

  it('answers a message the engine failed on with the apology, and keeps answering', async () => {
    const handler = createRecordingEngine((message) => {
      if (message.text === 'boom') throw new Error('engine exploded');
      return 'still here';
    });
    const discord = await setup(handler);
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> boom` });
    discord.dispatchMessage({ channelId, guildId, author: bob, content: `<@${discord.bot.id}> hello?` });
    await waitUntil(() => discord.requests.filter(isMessagePost).length === 2);
    expect(discord.requests.filter(isMessagePost).map((request) => body(request).content)).toEqual(['sorry (engine exploded)', 'still here']);
    expect(logLines.some((line) => line.startsWith('error message failed') && line.includes('engine exploded'))).toBe(true);
  });

  it('waits for a reply in flight on stop', async () => {
    let release: () => void = () => {};
    const handler = createRecordingEngine(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return 'finished before shutdown';
    });
    const discord = await setup(handler);
    discord.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord.bot.id}> slow` });
    await waitUntil(() => handler.received.length === 1);
    const stopping = adapter!.stop();
    release();
    await stopping;
    adapter = null;
    expect(discord.requests.filter(isMessagePost).map((r) => body(r).content)).toEqual(['finished before shutdown']);
  });
});

describe('discord adapter: slash commands', () => {
  const isCallback = (request: RecordedRequest) => request.method === 'POST' && /^\/interactions\/\d+\/[^/]+\/callback$/.test(request.path);

  it('registers the definitions globally at start with the right shape', async () => {
    const discord = await setup(createRecordingEngine(() => 'unused'));
    const request = await discord.waitForRequest((r) => r.method === 'PUT');
    expect(request.path).toBe(`/applications/${discord.applicationId}/commands`);
    const registered = request.body as Record<string, any>[];
    expect(registered.map((command) => [command.name, command.type, command.description, command.contexts])).toEqual([
      ['memory', 1, 'What the character remembers', [0, 1]],
      ['persona', 1, 'Switch the character', [0, 1]],
    ]);
    const shape = (options: Record<string, any>[] | undefined): unknown =>
      options?.map((option) => ({ type: option.type, name: option.name, required: option.required, options: shape(option.options) }));
    expect(shape(registered[0]!.options)).toEqual([
      { type: 1, name: 'export', required: undefined, options: [] },
      {
        type: 1, name: 'forget', required: undefined,
        // Required options first, as Discord demands.
        options: [
          { type: 6, name: 'user', required: true, options: undefined },
          { type: 5, name: 'confirm', required: false, options: undefined },
        ],
      },
    ]);
    expect(shape(registered[1]!.options)).toEqual([
      { type: 1, name: 'set', required: undefined, options: [{ type: 3, name: 'name', required: true, options: undefined }] },
    ]);
    expect(registered[0]!.options[1].options[0].description).toBe('Who');
  });

  it('reports isAdmin from Manage Server or the owner ids, and lets the handler refuse', async () => {
    const commands = createRecordingCommands((invocation) =>
      invocation.isAdmin ? { text: 'forgotten', private: false } : { text: 'admins only', private: true },
    );
    const discord = await setup(createRecordingEngine(() => 'unused'), commands);
    const forget = { name: 'memory', subcommand: 'forget', options: [{ name: 'user', type: 6, value: bob.id }, { name: 'confirm', type: 5, value: true }] };

    const first = discord.dispatchInteraction({ channelId, guildId, user: alice, permissions: '0', locale: 'zh-CN', ...forget });
    const refused = await discord.waitForRequest((r) => isCallback(r) && r.path.includes(first.id));
    expect(refused.path).toBe(`/interactions/${first.id}/${first.token}/callback`);
    expect(body(refused)).toMatchObject({ type: 4, data: { content: 'admins only', flags: 64 } });

    const second = discord.dispatchInteraction({ channelId, guildId, user: bob, permissions: '32', locale: 'en-GB', ...forget });
    const allowed = await discord.waitForRequest((r) => isCallback(r) && r.path.includes(second.id));
    expect(body(allowed).data.content).toBe('forgotten');
    expect(body(allowed).data.flags ?? 0).toBe(0);

    const owner: FakeUser = { id: '999999999999999999', username: 'owner' };
    const third = discord.dispatchInteraction({ channelId, guildId, user: owner, permissions: '0', ...forget });
    await discord.waitForRequest((r) => isCallback(r) && r.path.includes(third.id));

    expect(commands.invocations.map((invocation) => invocation.isAdmin)).toEqual([false, true, true]);
    expect(commands.invocations[0]).toMatchObject({
      platform: 'discord', guildId, channelId, command: 'memory', subcommand: 'forget', locale: 'zh-CN',
      author: { id: alice.id, displayName: 'Alice G', isBot: false }, options: { user: bob.id, confirm: true },
    });
    expect(commands.invocations[1]!.locale).toBe('en-US');
  });

  it('sends a file result as an attachment, and splits long command output', async () => {
    const exported = JSON.stringify({ memories: ['likes tea', '喜欢猫'] });
    const commands = createRecordingCommands((invocation) =>
      invocation.subcommand === 'export'
        ? { text: 'Here is your export.', private: true, file: { name: 'memories.json', content: exported } }
        : { text: 'Line of output.\n'.repeat(300), private: false },
    );
    const discord = await setup(createRecordingEngine(() => 'unused'), commands);
    const exportCall = discord.dispatchInteraction({ channelId, guildId, user: alice, name: 'memory', subcommand: 'export' });
    const request = await discord.waitForRequest((r) => isCallback(r) && r.path.includes(exportCall.id));
    expect(request.files).toEqual([{ field: 'files[0]', name: 'memories.json', content: exported }]);
    expect(body(request)).toMatchObject({ type: 4, data: { content: 'Here is your export.', flags: 64 } });

    const longCall = discord.dispatchInteraction({
      channelId, guildId, user: bob, permissions: '32', name: 'persona', subcommand: 'set', options: [{ name: 'name', type: 3, value: 'Rin' }],
    });
    await discord.waitForRequest((r) => isCallback(r) && r.path.includes(longCall.id));
    await waitUntil(() => discord.requests.some((r) => r.method === 'POST' && r.path === `/webhooks/${discord.applicationId}/${longCall.token}`));
    const followUp = discord.requests.find((r) => r.path === `/webhooks/${discord.applicationId}/${longCall.token}`)!;
    expect(String(body(followUp).content).length).toBeLessThanOrEqual(2000);
    expect(commands.invocations[1]!.options).toEqual({ name: 'Rin' });
  });

  it('answers a failing command with a private, localized apology', async () => {
    const commands: CommandHandler = {
      definitions,
      run: async () => {
        throw new Error('store is down');
      },
    };
    const discord = await setup(createRecordingEngine(() => 'unused'), commands);
    const call = discord.dispatchInteraction({ channelId, guildId, user: alice, name: 'memory', subcommand: 'export', locale: 'zh-TW' });
    const request = await discord.waitForRequest((r) => isCallback(r) && r.path.includes(call.id));
    expect(body(request)).toMatchObject({ type: 4, data: { content: '出错了，请稍后再试。', flags: 64 } });
    expect(logLines.some((line) => line.startsWith('error command failed') && line.includes('store is down'))).toBe(true);
  });

  it('defers a slow command and edits the reply when it finishes', async () => {
    let discord: FakeDiscord | null = null;
    const commands: CommandHandler = {
      definitions,
      run: async () => {
        // Slower than the defer: done only once the deferral reached Discord.
        await discord!.waitForRequest(isCallback);
        return { text: 'slow but done', private: false };
      },
    };
    discord = await setup(createRecordingEngine(() => 'unused'), commands, { commandDeferMs: 20 });
    const call = discord.dispatchInteraction({ channelId, guildId, user: alice, name: 'memory', subcommand: 'export' });
    const deferred = await discord.waitForRequest((r) => isCallback(r) && r.path.includes(call.id));
    expect(body(deferred)).toMatchObject({ type: 5, data: { flags: 64 } });
    const edit = await discord.waitForRequest((r) => r.method === 'PATCH');
    expect(edit.path).toBe(`/webhooks/${discord.applicationId}/${call.token}/messages/@original`);
    expect(body(edit).content).toBe('slow but done');
  });
});
