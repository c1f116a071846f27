/**
 * The QQ adapter end to end: the real Koishi 4 + koishi-plugin-adapter-onebot against a fake OneBot v11 peer on
 * 127.0.0.1, in both 'ws' (the adapter dials the peer) and 'ws-reverse' (the peer dials the adapter) modes.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createQQAdapter, type QQAdapter } from '../src/adapters/qq/adapter.js';
import type { MessageRuntimeOptions } from '../src/adapters/runtime/runtime.js';
import type { CommandDefinition, CommandHandler, CommandInvocation, CommandResult } from '../src/core/commands.js';
import { loadTranslator } from '../src/core/i18n.js';
import { setLogLevel, type Logger } from '../src/util/logger.js';
import { localesDirectory } from '../src/util/paths.js';
import { at, createFakeOneBot, reply, text, type FakeOneBot, type RecordedAction, type Segment } from './fakes/fake-onebot.js';
import { closedPort } from './helpers/ports.js';
import { createRecordingEngine, createTestRuntime, qqSettings, type RecordingEngine, type Script } from './helpers/runtime.js';
import { waitUntil } from './helpers/wait.js';

const translator = loadTranslator(localesDirectory);

const selfId = '10001';
const groupId = '20002';
const token = 'test-access-token-123';

const echo: Script = (message) => `echo: ${message.text}`;

const definitions: CommandDefinition[] = [
  {
    name: 'persona',
    description: 'characters',
    subcommands: [
      { name: 'list', description: 'list characters', options: [], adminOnly: false },
      {
        name: 'set',
        description: 'choose a character',
        options: [{ name: 'character', description: 'id', type: 'string', required: true }],
        adminOnly: true,
      },
    ],
  },
  {
    name: 'memory',
    description: 'memories',
    subcommands: [
      {
        name: 'show',
        description: 'show memories',
        options: [{ name: 'user', description: 'whose', type: 'user', required: false }],
        adminOnly: false,
      },
      { name: 'export', description: 'export memories', options: [], adminOnly: false },
    ],
  },
];

function createFakeCommands(): CommandHandler & { readonly invocations: CommandInvocation[] } {
  const invocations: CommandInvocation[] = [];
  return {
    definitions,
    invocations,
    async run(invocation): Promise<CommandResult> {
      invocations.push(invocation);
      if (invocation.command === 'memory' && invocation.subcommand === 'show') {
        return { text: `memories of ${String(invocation.options.user ?? invocation.author.id)}`, private: true };
      }
      if (invocation.subcommand === 'export') {
        return { text: 'export ready', private: false, file: { name: 'memories.txt', content: 'line\n'.repeat(5000) } };
      }
      return { text: `ran ${invocation.command} ${invocation.subcommand}`, private: false };
    },
  };
}

function segmentsOf(action: RecordedAction): Segment[] {
  return action.params.message as Segment[];
}

function textOf(action: RecordedAction): string {
  return segmentsOf(action)
    .filter((segment) => segment.type === 'text')
    .map((segment) => String(segment.data.text))
    .join('');
}

/** For waitUntil: on a timeout, say which actions the peer saw. */
const showingActions = (fake: FakeOneBot) => ({ describe: () => `actions: ${fake.actions.map((action) => action.action).join(', ')}` });

beforeAll(() => setLogLevel(process.env.QQ_TEST_LOG === 'debug' ? 'debug' : 'error'));

// The adapter and fake peer of the test running now, stopped after it whatever its outcome.
let peer: FakeOneBot | null = null;
let adapter: QQAdapter | null = null;
afterEach(async () => {
  await adapter?.stop();
  await peer?.close();
  adapter = null;
  peer = null;
});

describe.each(['ws', 'ws-reverse'] as const)('QQ adapter over %s', (protocol) => {

  async function setup(
    options: { handler?: RecordingEngine; commands?: CommandHandler; messageLimit?: number } & Partial<MessageRuntimeOptions> = {},
  ) {
    const handler = options.handler ?? createRecordingEngine(echo);
    const commands = options.commands ?? createFakeCommands();
    const fake = createFakeOneBot({ selfId, nickname: 'Haruhi', token });
    peer = fake;
    const common = {
      runtime: createTestRuntime(handler, {
        ...(options.cooldownMs !== undefined && { cooldownMs: options.cooldownMs }),
        ...(options.stopTimeoutMs !== undefined && { stopTimeoutMs: options.stopTimeoutMs }),
      }),
      commands,
      translator,
      responseTimeoutMs: 5000,
      ...(options.messageLimit !== undefined && { messageLimit: options.messageLimit }),
    };
    const shared = { selfId, token, ownerIds: ['99999'] };
    if (protocol === 'ws') {
      const endpoint = await fake.listen();
      adapter = createQQAdapter({ ...common, settings: qqSettings({ ...shared, protocol: 'ws', endpoint }) });
      await adapter.start();
    } else {
      adapter = createQQAdapter({ ...common, settings: qqSettings({ ...shared, protocol: 'ws-reverse', port: await closedPort() }) });
      await adapter.start();
      await fake.connect(`ws://127.0.0.1:${adapter.port}/onebot`);
      await adapter.whenOnline();
    }
    await fake.waitForAction('get_login_info');
    return { fake, handler };
  }

  it('answers a leading @ in a group with one send_group_msg that quotes and @s the asker', async () => {
    const { fake, handler } = await setup();
    const id = fake.pushGroupMessage({ groupId, userId: '30003', member: { card: '阿虚', nickname: 'kyon' }, message: [at(selfId), text(' 你好')] });
    const sent = await fake.waitForAction('send_group_msg');
    expect(sent.params.group_id).toBe(Number(groupId));
    const segments = segmentsOf(sent);
    expect(segments.map((segment) => segment.type)).toEqual(['reply', 'at', 'text']);
    expect(String(segments[0]!.data.id)).toBe(String(id));
    expect(String(segments[1]!.data.qq)).toBe('30003');
    expect(textOf(sent).trim()).toBe('echo: 你好');

    const incoming = handler.received[0]!;
    expect(incoming).toMatchObject({
      platform: 'qq',
      guildId: groupId,
      channelId: groupId,
      messageId: String(id),
      author: { id: '30003', displayName: '阿虚' },
      text: '你好',
      addressing: { mentioned: true, repliedToBot: false, direct: false },
      replyTo: null,
    });

    // A second message in the same group is answered after the first (one queue per group): by then a duplicate
    // answer to the first would have been sent.
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' again')] });
    await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('echo: again'));
    expect(fake.actions.filter((action) => action.action === 'send_group_msg')).toHaveLength(2);
  });

  it('counts an @ of the bot in the middle of a message and renders other @s by name', async () => {
    const { fake, handler } = await setup();
    fake.pushGroupMessage({
      groupId,
      userId: '30003',
      message: [text('你觉得 '), { type: 'at', data: { qq: '40004', name: '古泉' } }, text(' 怎么样 '), at(selfId), text(' ？')],
    });
    const sent = await fake.waitForAction('send_group_msg');
    expect(handler.received[0]!.text).toBe('你觉得 @古泉 怎么样 ？');
    expect(handler.received[0]!.addressing.mentioned).toBe(true);
    expect(textOf(sent).trim()).toBe('echo: 你觉得 @古泉 怎么样 ？');
  });

  it('ignores a group message without an @ of the bot', async () => {
    const { fake, handler } = await setup();
    fake.pushGroupMessage({ groupId, userId: '30003', message: [text('just chatting')] });
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at('40004'), text(' not you')] });
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' now you')] });
    await fake.waitForAction('send_group_msg');
    expect(handler.received.map((message) => message.text)).toEqual(['now you']);
    expect(fake.actions.filter((action) => action.action === 'send_group_msg')).toHaveLength(1);
  });

  it("answers a quote-reply of the bot's own message", async () => {
    const { fake, handler } = await setup();
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' first')] });
    const first = await fake.waitForAction('send_group_msg');
    const sentId = (first.data as { message_id: number }).message_id;

    fake.pushGroupMessage({ groupId, userId: '30003', message: [reply(sentId), text('why?')] });
    const second = await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('why?'));
    expect(textOf(second).trim()).toBe('echo: why?');
    const quoted = handler.received[1]!;
    expect(quoted.addressing).toEqual({ mentioned: false, repliedToBot: true, direct: false });
    expect(quoted.replyTo).toMatchObject({ messageId: String(sentId), authorId: selfId });
    expect(fake.actions.some((action) => action.action === 'get_msg')).toBe(true);
  });

  it('does not answer a quote-reply of somebody else', async () => {
    const { fake, handler } = await setup();
    const otherId = fake.pushGroupMessage({ groupId, userId: '40004', message: [text('hello all')] });
    fake.pushGroupMessage({ groupId, userId: '30003', message: [reply(otherId), text('agreed')] });
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' marker')] });
    await fake.waitForAction('send_group_msg');
    expect(handler.received.map((message) => message.text)).toEqual(['marker']);
  });

  it('answers a private message with send_private_msg', async () => {
    const { fake, handler } = await setup();
    fake.pushPrivateMessage({ userId: '30003', nickname: 'kyon', message: [text('hi there')] });
    const sent = await fake.waitForAction('send_private_msg');
    expect(sent.params.user_id).toBe(30003);
    expect(segmentsOf(sent).map((segment) => segment.type)).toEqual(['text']);
    expect(textOf(sent)).toBe('echo: hi there');
    expect(handler.received[0]).toMatchObject({
      guildId: null,
      channelId: 'private:30003',
      author: { id: '30003', displayName: 'kyon' },
      addressing: { mentioned: false, repliedToBot: false, direct: true },
    });
  });

  it('splits a long answer into ordered parts under the limit; only the first quotes', async () => {
    const sentences = Array.from({ length: 30 }, (_, index) => `第${index + 1}句话说得很长很长很长。`);
    const handler = createRecordingEngine(() => sentences.join(''));
    const { fake } = await setup({ handler, messageLimit: 100 });
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' 讲个故事')] });
    await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('第30句'));
    const sends = fake.actions.filter((action) => action.action === 'send_group_msg');
    expect(sends.length).toBeGreaterThan(3);
    expect(sends.map((action) => textOf(action).trim()).join('')).toBe(sentences.join(''));
    for (const [index, action] of sends.entries()) {
      expect(textOf(action).trim().length).toBeLessThanOrEqual(100);
      expect(textOf(action).trim()).toMatch(/。$/);
      const types = segmentsOf(action).map((segment) => segment.type);
      expect(types).toEqual(index === 0 ? ['reply', 'at', 'text'] : ['text']);
    }
  });

  it('answers two messages in the order they arrived', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handler = createRecordingEngine(async (message) => {
      // The first answer is slow: the second must still wait for it.
      if (message.text === 'one') await gate;
      return `re ${message.text}`;
    });
    const { fake } = await setup({ handler });
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' one')] });
    fake.pushGroupMessage({ groupId, userId: '30004', message: [at(selfId), text(' two')] });
    await waitUntil(() => handler.received.length >= 1);
    release();
    await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('re two'));
    const replies = fake.actions.filter((action) => action.action === 'send_group_msg').map((action) => textOf(action).trim());
    expect(replies).toEqual(['re one', 're two']);
  });

  it('drops a quick second message from the same user during the cooldown', async () => {
    const { fake, handler } = await setup({ cooldownMs: 60_000 });
    const time = Math.floor(Date.now() / 1000);
    fake.pushGroupMessage({ groupId, userId: '30003', time, message: [at(selfId), text(' one')] });
    fake.pushGroupMessage({ groupId, userId: '30003', time: time + 1, message: [at(selfId), text(' two')] });
    fake.pushGroupMessage({ groupId, userId: '30004', time: time + 1, message: [at(selfId), text(' three')] });
    await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('three'));
    expect(handler.received.map((message) => message.text)).toEqual(['one', 'three']);
  });

  it('runs a command from a member with isAdmin false, and from an admin or owner with isAdmin true', async () => {
    const commands = createFakeCommands();
    const { fake, handler } = await setup({ commands });
    fake.pushGroupMessage({ groupId, userId: '30003', member: { role: 'member' }, message: [text('/persona set 凉宫 春日')] });
    const sent = await fake.waitForAction('send_group_msg');
    expect(textOf(sent).trim()).toBe('ran persona set');
    expect(segmentsOf(sent).map((segment) => segment.type)).toEqual(['reply', 'at', 'text']);
    expect(commands.invocations[0]).toMatchObject({
      platform: 'qq',
      guildId: groupId,
      channelId: groupId,
      author: { id: '30003' },
      isAdmin: false,
      locale: null,
      command: 'persona',
      subcommand: 'set',
      options: { character: '凉宫 春日' },
    });

    fake.pushGroupMessage({ groupId, userId: '30004', member: { role: 'admin' }, message: [text('/persona list')] });
    fake.pushGroupMessage({ groupId, userId: '30005', member: { role: 'owner' }, message: [at(selfId), text(' persona list')] });
    fake.pushGroupMessage({ groupId, userId: '99999', member: { role: 'member' }, message: [text('/persona list')] });
    await waitUntil(() => commands.invocations.length === 4);
    const byUser = Object.fromEntries(commands.invocations.map((invocation) => [invocation.author.id, invocation.isAdmin]));
    expect(byUser).toEqual({ '30003': false, '30004': true, '30005': true, '99999': true });
    // Commands never reach the chat handler.
    expect(handler.received).toHaveLength(0);
  });

  it('sends a private command result by send_private_msg with a short note in the group', async () => {
    const commands = createFakeCommands();
    const { fake } = await setup({ commands });
    fake.pushGroupMessage({ groupId, userId: '30003', message: [text('/memory show --user '), at('40004')] });
    const privately = await fake.waitForAction('send_private_msg');
    expect(privately.params.user_id).toBe(30003);
    expect(textOf(privately)).toBe('memories of 40004');
    const note = await fake.waitForAction('send_group_msg');
    expect(textOf(note)).not.toContain('memories of');
    expect(commands.invocations[0]!.options).toEqual({ user: '40004' });

    fake.pushGroupMessage({ groupId, userId: '30003', message: [text('/memory show --user 50005')] });
    await fake.waitForAction('send_private_msg', (params) => JSON.stringify(params.message).includes('50005'));
  });

  it('in a private chat runs only /-prefixed commands; a bare command word is conversation', async () => {
    const commands = createFakeCommands();
    const { fake, handler } = await setup({ commands });
    fake.pushPrivateMessage({ userId: '30003', message: [text('persona is a nice word')] });
    await fake.waitForAction('send_private_msg', (params) => JSON.stringify(params.message).includes('echo: persona'));
    fake.pushPrivateMessage({ userId: '30003', message: [text('/persona list')] });
    const sent = await fake.waitForAction('send_private_msg', (params) => JSON.stringify(params.message).includes('ran persona list'));
    expect(segmentsOf(sent).map((segment) => segment.type)).toEqual(['text']);
    expect(handler.received.map((message) => message.text)).toEqual(['persona is a nice word']);
    expect(commands.invocations).toHaveLength(1);
    expect(commands.invocations[0]).toMatchObject({ guildId: null, channelId: 'private:30003', isAdmin: false });
  });

  it('stop() waits a bounded time for a reply in flight, then aborts it', async () => {
    let signal: AbortSignal | undefined;
    const handler = createRecordingEngine((_message, options) => {
      signal = options.signal;
      return new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    const { fake } = await setup({ handler, stopTimeoutMs: 200 });
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' think hard')] });
    await waitUntil(() => handler.received.length === 1);
    await adapter!.stop();
    expect(signal?.aborted).toBe(true);
    expect(fake.actions.some((action) => action.action === 'send_group_msg')).toBe(false);
  });

  it('answers again after the connection dropped and came back', async () => {
    const { fake } = await setup();
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' before')] });
    await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('echo: before'));
    const logins = () => fake.actions.filter((action) => action.action === 'get_login_info').length;
    const loginsBefore = logins();
    fake.drop();
    expect(fake.connected).toBe(false);
    // ws-reverse: the implementation dials again at once, before the adapter has seen the old connection close.
    // ws: the adapter dials the implementation again by itself.
    if (protocol === 'ws-reverse') await fake.connect(`ws://127.0.0.1:${adapter!.port}/onebot`);
    await waitUntil(() => logins() > loginsBefore, showingActions(fake));
    fake.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' after')] });
    await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('echo: after'));
    expect(fake.actions.filter((action) => action.action === 'send_group_msg').map((action) => textOf(action).trim())).toEqual([
      'echo: before',
      'echo: after',
    ]);
  });

  it('sends a long file result privately in parts', async () => {
    const { fake } = await setup();
    fake.pushGroupMessage({ groupId, userId: '30003', message: [text('/memory export')] });
    await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('export ready'));
    await fake.waitForAction('send_private_msg', (params) => JSON.stringify(params.message).includes('memories.txt (10/10)'));
    const parts = fake.actions.filter((action) => action.action === 'send_private_msg');
    expect(parts).toHaveLength(10);
    expect(parts.map((part) => textOf(part).split('\n')[0])).toEqual(
      Array.from({ length: 10 }, (_, index) => `📄 memories.txt (${index + 1}/10)`),
    );
    for (const part of parts) expect(textOf(part).length).toBeLessThanOrEqual(1500);
    // 25,000 characters do not fit in ten parts: the last one says it was cut.
    expect(textOf(parts[9]!)).toContain('已截断');
    // The group learns where it went, without the content.
    const note = await fake.waitForAction('send_group_msg', (params) => JSON.stringify(params.message).includes('私信'));
    expect(textOf(note)).not.toContain('line');
  });
});

describe('QQ adapter over ws-reverse: access token', () => {
  async function startGuarded(): Promise<QQAdapter> {
    const adapter = createQQAdapter({
      settings: qqSettings({ protocol: 'ws-reverse', selfId, token, port: await closedPort() }),
      runtime: createTestRuntime(createRecordingEngine(echo)),
      translator,
      commands: createFakeCommands(),
    });
    await adapter.start();
    return adapter;
  }

  // The server routes with path-to-regexp, which ignores case and a trailing slash: each spelling reaches the
  // adapter, so each must ask for the token. Any other path is refused as well.
  it.each(['/onebot', '/onebot/', '/ONEBOT', '/OneBot/', '/onebot?x=1', '/elsewhere'])(
    'refuses a connection to %s without the right token',
    async (path) => {
      const adapter = await startGuarded();
      const wrong = createFakeOneBot({ selfId, token: 'wrong-token-456' });
      const none = createFakeOneBot({ selfId });
      try {
        for (const intruder of [wrong, none]) {
          await intruder.connect(`ws://127.0.0.1:${adapter.port}${path}`);
          await waitUntil(() => !intruder.connected);
          expect(intruder.actions).toEqual([]);
        }
      } finally {
        await adapter.stop();
        await wrong.close();
        await none.close();
      }
    },
  );

  it('accepts the token on a spelling of the path the server routes', async () => {
    const adapter = await startGuarded();
    const peer = createFakeOneBot({ selfId, token });
    try {
      await peer.connect(`ws://127.0.0.1:${adapter.port}/ONEBOT/`);
      await peer.waitForAction('get_login_info');
    } finally {
      await adapter.stop();
      await peer.close();
    }
  });
});

describe('QQ adapter over ws-reverse: dialing again', () => {
  it('a second connection of the implementation replaces the first, which a network blip left half-open', async () => {
    adapter = createQQAdapter({
      settings: qqSettings({ protocol: 'ws-reverse', selfId, token, port: await closedPort() }),
      runtime: createTestRuntime(createRecordingEngine(echo)),
      translator,
      commands: createFakeCommands(),
      responseTimeoutMs: 5000,
    });
    await adapter.start();
    const url = `ws://127.0.0.1:${adapter.port}/onebot`;
    const first = createFakeOneBot({ selfId, token });
    const second = createFakeOneBot({ selfId, token });
    peer = second;
    try {
      await first.connect(url);
      await first.waitForAction('get_login_info');
      // The old connection is still open as far as omoide can tell when the new one arrives.
      expect(first.connected).toBe(true);
      await second.connect(url);
      await second.waitForAction('get_login_info');
      await waitUntil(() => !first.connected);
      second.pushGroupMessage({ groupId, userId: '30003', message: [at(selfId), text(' still there?')] });
      const sent = await second.waitForAction('send_group_msg');
      expect(textOf(sent).trim()).toBe('echo: still there?');
      expect(first.actions.filter((action) => action.action === 'send_group_msg')).toEqual([]);
    } finally {
      await first.close();
    }
  });
});

describe('QQ adapter over http', () => {
  const secret = 'onebot-secret-789';

  async function setup(options: { secret?: string; handler?: RecordingEngine; logger?: Logger } = {}) {
    const handler = options.handler ?? createRecordingEngine(echo);
    peer = createFakeOneBot({ selfId, nickname: 'Haruhi', token });
    const endpoint = await peer.listenHttp();
    adapter = createQQAdapter({
      settings: qqSettings({ protocol: 'http', endpoint, selfId, token, port: await closedPort(), ...(options.secret !== undefined && { secret: options.secret }) }),
      runtime: createTestRuntime(handler),
      translator,
      commands: createFakeCommands(),
      responseTimeoutMs: 5000,
      ...(options.logger && { logger: options.logger }),
    });
    await adapter.start();
    return { fake: peer, handler, url: `http://127.0.0.1:${adapter.port}/onebot` };
  }

  it('answers a signed event through the HTTP API; the signature covers the raw body as implementations send it', async () => {
    const { fake, handler, url } = await setup({ secret });
    const status = await fake.postGroupMessage(url, { groupId, userId: '30003', message: [at(selfId), text(' <b>&hi</b>')] }, { secret });
    expect(status).toBe(204);
    const sent = await fake.waitForAction('send_group_msg');
    expect(textOf(sent).trim()).toBe('echo: <b>&hi</b>');
    expect(handler.received.map((message) => message.author.id)).toEqual(['30003']);
  });

  it('refuses unsigned (401), wrongly signed (403) and foreign-bot (403) posts on every spelling of the path', async () => {
    const { fake, handler } = await setup({ secret });
    const event = { groupId, userId: '30003', member: { role: 'owner' as const }, message: [at(selfId), text(' forged')] };
    for (const path of ['/onebot', '/onebot/', '/ONEBOT', '/OneBot/']) {
      const url = `http://127.0.0.1:${adapter!.port}${path}`;
      expect(await fake.postGroupMessage(url, event)).toBe(401);
      expect(await fake.postGroupMessage(url, event, { signature: 'sha1=0000' })).toBe(403);
      expect(await fake.postGroupMessage(url, event, { secret: 'not-the-secret' })).toBe(403);
      expect(await fake.postGroupMessage(url, event, { secret, selfId: '77777' })).toBe(403);
    }
    // A signed post still goes through afterwards, and it is the only one the handler saw.
    expect(await fake.postGroupMessage(`http://127.0.0.1:${adapter!.port}/onebot`, { ...event, message: [at(selfId), text(' real')] }, { secret })).toBe(204);
    await fake.waitForAction('send_group_msg');
    expect(handler.received.map((message) => message.text)).toEqual(['real']);
  });

  it('refuses an oversized body before reading it, and logs a flood of refused posts once', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {}, info() {}, error() {}, warn: (message) => void warnings.push(message), child: () => logger,
    };
    const { fake, url } = await setup({ secret, logger });
    const huge = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-self-id': selfId, 'x-signature': 'sha1=00' }, body: 'x'.repeat(5 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
    const event = { groupId, userId: '30003', message: [at(selfId), text(' forged')] };
    for (let attempt = 0; attempt < 20; attempt++) expect(await fake.postGroupMessage(url, event)).toBe(401);
    expect(warnings.filter((warning) => warning.startsWith('refused OneBot events'))).toHaveLength(1);
  });

  it('on loopback without a secret takes unsigned posts (and a body that is not JSON gets 400, not a crash)', async () => {
    const { fake, url } = await setup();
    const bad = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-self-id': selfId }, body: '{not json' });
    expect(bad.status).toBe(400);
    expect(await fake.postGroupMessage(url, { groupId, userId: '30003', message: [at(selfId), text(' hello')] })).toBe(204);
    expect(textOf(await fake.waitForAction('send_group_msg')).trim()).toBe('echo: hello');
  });
});

describe('QQ adapter over ws: connecting', () => {
  it('fails start() with a clear error when the OneBot peer cannot be reached', async () => {
    const port = await closedPort();
    const adapter = createQQAdapter({
      settings: qqSettings({ protocol: 'ws', endpoint: `ws://127.0.0.1:${port}`, selfId }),
      runtime: createTestRuntime(createRecordingEngine(echo)),
      translator,
      commands: createFakeCommands(),
      connectTimeoutMs: 300,
    });
    await expect(adapter.start()).rejects.toThrow(/could not start \(ws\)/);
    await adapter.stop();
  });
});
