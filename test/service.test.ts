/**
 * The whole service as `npm start` assembles it: real discord.js and Koishi clients against loopback fakes of
 * Discord and a OneBot implementation, the real engine, the real openai client against a fake LLM server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { configuredAdapters } from '../src/main.js';
import { logToFile, logToStderr } from '../src/util/logger.js';
import type { FakeDiscord, FakeUser, RecordedRequest } from './fakes/fake-discord.js';
import { startFakeDiscord } from './fakes/fake-discord.js';
import type { FakeOneBot } from './fakes/fake-onebot.js';
import { at, createFakeOneBot, text } from './fakes/fake-onebot.js';
import type { FakeOpenAi } from './fakes/fake-openai-server.js';
import { startFakeOpenAi } from './fakes/fake-openai-server.js';
import { waitUntil } from './helpers/wait.js';

const token = 'discord-secret-token.abc.def';
/** For waitUntil: the whole service answers through real clients, so give it twice the usual time. */
const serviceWait = { timeoutMs: 10_000 };
const selfId = '123456789';
const alice: FakeUser = { id: '500000000000000001', username: 'alice', global_name: 'Alice' };
const manageGuild = '32';

let directory: string;
let discord: FakeDiscord | undefined;
let onebot: FakeOneBot | undefined;
let llm: FakeOpenAi | undefined;
let app: App | undefined;
let stopServices: (() => Promise<void>) | undefined;

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-service-'));
  logToFile(join(directory, 'omoide.log'));
  llm = await startFakeOpenAi();
  discord = await startFakeDiscord();
});
afterEach(async () => {
  await stopServices?.();
  await app?.close();
  await discord?.close();
  await onebot?.close();
  await llm?.close();
  stopServices = app = discord = onebot = llm = undefined;
  logToStderr();
  rmSync(directory, { recursive: true, force: true });
});

const isMessagePost = (request: RecordedRequest) => request.method === 'POST' && /^\/channels\/\d+\/messages$/.test(request.path);
const isCallback = (request: RecordedRequest) => request.method === 'POST' && /^\/interactions\/.+\/callback$/.test(request.path);
const contentOf = (request: RecordedRequest) => (request.body as { content?: string; data?: { content?: string; flags?: number } }).content;
const callbackOf = (request: RecordedRequest) => (request.body as { data: { content: string; flags?: number } }).data;

async function startService(extraEnv: Record<string, string> = {}) {
  const config = loadConfig({
    env: {
      OMOIDE_DATA_DIR: join(directory, 'data'),
      OPENAI_BASE_URL: llm!.url,
      DISCORD_TOKEN: token,
      DISCORD_API_BASE: discord!.apiBase,
      ...extraEnv,
    },
    cwd: directory,
  });
  app = await createApp(config);
  const services = configuredAdapters(config, app);
  for (const service of services) await service.start();
  stopServices = async () => {
    for (const service of [...services].reverse()) await service.stop();
  };
  return services.map((service) => service.name);
}

describe('the service with every adapter configured', () => {
  it('answers a Discord @mention through the engine, and /persona set is for admins only', async () => {
    expect(await startService()).toEqual(['discord']);
    const channelId = '300000000000000001';
    const guildId = discord!.guilds[0]!.id;
    discord!.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord!.bot.id}> hello there`, mentions: [discord!.bot] });
    const reply = await discord!.waitForRequest(isMessagePost, 10_000);
    expect(contentOf(reply)).toBe('echo: Alice: hello there');

    discord!.dispatchInteraction({ channelId, guildId, user: alice, name: 'persona', subcommand: 'set', options: [{ name: 'character', type: 3, value: 'xiaoman' }], permissions: '0' });
    const refused = await discord!.waitForRequest(isCallback, 10_000);
    expect(callbackOf(refused).content).toContain('Only server admins');
    expect(callbackOf(refused).flags).toBe(64);

    discord!.dispatchInteraction({ channelId, guildId, user: alice, name: 'persona', subcommand: 'set', options: [{ name: 'character', type: 3, value: '小满' }], permissions: manageGuild });
    await waitUntil(() => discord!.requests.filter(isCallback).length === 2, serviceWait);
    expect(callbackOf(discord!.requests.filter(isCallback)[1]!).content).toContain('苏小满');

    // a minute later, past the per-user cooldown
    const later = new Date(Date.now() + 60_000).toISOString();
    discord!.dispatchMessage({ channelId, guildId, author: alice, content: `<@${discord!.bot.id}> 你好`, mentions: [discord!.bot], timestamp: later });
    await waitUntil(() => discord!.requests.filter(isMessagePost).length === 2, serviceWait);
    const system = (llm!.chatRequests().at(-1)!.body as { messages: { content: string }[] }).messages[0]!.content;
    expect(system).toContain('你是苏小满');
  });

  it('answers a QQ group @ with a quote and an @ of the asker', async () => {
    onebot = createFakeOneBot({ selfId, nickname: 'omoide' });
    const endpoint = await onebot.listen();
    expect(await startService({ ONEBOT_PROTOCOL: 'ws', ONEBOT_ENDPOINT: endpoint, ONEBOT_SELF_ID: selfId })).toEqual(['discord', 'qq']);
    const id = onebot.pushGroupMessage({ groupId: '777777', userId: '30003', member: { card: '阿虚' }, message: [at(selfId), text(' 你好')] });
    const sent = await onebot.waitForAction('send_group_msg', () => true, 10_000);
    const segments = sent.params.message as { type: string; data: Record<string, unknown> }[];
    expect(segments.map((segment) => segment.type)).toEqual(['reply', 'at', 'text']);
    expect(String(segments[0]!.data.id)).toBe(String(id));
    expect(String(segments[1]!.data.qq)).toBe('30003');
    expect(String(segments[2]!.data.text).trim()).toBe('echo: 阿虚: 你好');
  });
});

describe('QQ has one name', () => {
  it('people imported with --platform qq are the people the live QQ adapter answers: their memories reach the prompt', async () => {
    const file = join(directory, 'memory.json');
    writeFileSync(file, JSON.stringify({
      '30003': {
        name: '阿虚',
        history: { '2024-05-01': [{ query: '我家的猫叫团子，它是橘色的', response: '团子这个名字好可爱！' }] },
        summary: {}, personality: {}, overall_history: '',
      },
    }));
    const imported = spawnSync(process.execPath, [
      join(resolve(__dirname, '..'), 'bin', 'omoide.js'), 'memory', 'import', file, '--character', 'juniper', '--platform', 'qq', '--guild', '777777',
    ], { cwd: directory, env: { PATH: process.env.PATH ?? '', OMOIDE_DATA_DIR: join(directory, 'data'), OPENAI_BASE_URL: llm!.url }, encoding: 'utf8' });
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('imported 1 people');

    onebot = createFakeOneBot({ selfId, nickname: 'omoide' });
    const endpoint = await onebot.listen();
    await startService({ ONEBOT_PROTOCOL: 'ws', ONEBOT_ENDPOINT: endpoint, ONEBOT_SELF_ID: selfId });
    onebot.pushGroupMessage({ groupId: '777777', userId: '30003', member: { card: '阿虚' }, message: [at(selfId), text(' 你还记得我的猫叫什么吗？')] });
    await onebot.waitForAction('send_group_msg', () => true, 10_000);
    const system = (llm!.chatRequests().at(-1)!.body as { messages: { content: string }[] }).messages[0]!.content;
    expect(system).toContain('我家的猫叫团子');
    expect(app!.store.findUserId('qq', '30003')).not.toBeNull();
  });
});

describe('/memory through Discord', () => {
  const bob: FakeUser = { id: '500000000000000002', username: 'bob', global_name: 'Bob' };
  const channelId = '300000000000000001';
  const count = (sql: string, ...parameters: unknown[]) => (app!.db.prepare(sql).get(...parameters) as { n: number }).n;

  it('shows each person only their own memories, privately, and forget-me erases all of theirs and nothing else', async () => {
    await startService();
    const guildId = discord!.guilds[0]!.id;
    const say = (author: FakeUser, content: string, minutes: number) =>
      discord!.dispatchMessage({
        channelId, guildId, author, content: `<@${discord!.bot.id}> ${content}`, mentions: [discord!.bot],
        timestamp: new Date(Date.now() + minutes * 60_000).toISOString(),
      });
    say(alice, 'my cat is called Mochi', 0);
    await waitUntil(() => discord!.requests.filter(isMessagePost).length === 1, serviceWait);
    say(bob, 'I am learning the cello', 1);
    await waitUntil(() => discord!.requests.filter(isMessagePost).length === 2, serviceWait);
    say(alice, 'Mochi knocked over my tea', 2);
    await waitUntil(() => discord!.requests.filter(isMessagePost).length === 3, serviceWait);
    await app!.engine.idle();

    const callbacks = () => discord!.requests.filter(isCallback);
    const command = (user: FakeUser, subcommand: string, options: { name: string; type: number; value: string }[] = []) => {
      const before = callbacks().length;
      discord!.dispatchInteraction({ channelId, guildId, user, name: 'memory', subcommand, options, permissions: '0' });
      return waitUntil(() => callbacks().length === before + 1, serviceWait).then(() => callbackOf(callbacks().at(-1)!));
    };

    const shown = await command(alice, 'show');
    expect(shown.flags).toBe(64); // ephemeral: only Alice sees it
    expect(shown.content).toContain('Mochi');
    expect(shown.content).not.toContain('cello');
    const bobShown = await command(bob, 'show');
    expect(bobShown.content).toContain('cello');
    expect(bobShown.content).not.toContain('Mochi');

    const aliceId = app!.store.findUserId('discord', alice.id)!;
    const bobId = app!.store.findUserId('discord', bob.id)!;
    const rowsOf = (userId: number) => ({
      messages: count(`SELECT count(*) AS n FROM messages WHERE user_id = ?`, userId),
      replies: count(`SELECT count(*) AS n FROM messages r JOIN messages u ON u.id = r.reply_to_message_id WHERE u.user_id = ?`, userId),
      memories: count(`SELECT count(*) AS n FROM memories m JOIN memory_scopes s ON s.id = m.scope_id WHERE s.user_id = ?`, userId),
    });
    expect(rowsOf(aliceId)).toEqual({ messages: 2, replies: 2, memories: 2 });
    const bobBefore = rowsOf(bobId);
    const textRows = count(`SELECT count(*) AS n FROM memory_text_docsize`);
    const vectorTable = (app!.db.prepare(`SELECT table_name FROM embedding_spaces WHERE state = 'active'`).get() as { table_name: string }).table_name;
    const vectors = count(`SELECT count(*) AS n FROM ${vectorTable}`);

    const asked = await command(alice, 'forget-me');
    expect(asked.flags).toBe(64);
    const code = /confirm:(\w+)/.exec(asked.content)?.[1];
    expect(code, asked.content).toBeDefined();
    expect(rowsOf(aliceId).memories).toBe(2); // nothing happens before the confirmation
    const done = await command(alice, 'forget-me', [{ name: 'confirm', type: 3, value: code! }]);
    expect(done.content).toContain('2 memories and 4 messages deleted');

    expect(rowsOf(aliceId)).toEqual({ messages: 0, replies: 0, memories: 0 });
    expect(count(`SELECT count(*) AS n FROM memory_text_docsize`)).toBe(textRows - 2);
    expect(count(`SELECT count(*) AS n FROM ${vectorTable}`)).toBe(vectors - 2);
    expect(rowsOf(bobId)).toEqual(bobBefore);
    expect((await command(alice, 'show')).content).not.toContain('Mochi');
  });
});

describe('npm start as a process', () => {
  it('runs the configured adapter instead of the terminal chat, and stops cleanly on SIGTERM', async () => {
    const root = resolve(__dirname, '..');
    const child = spawn(process.execPath, [join(root, 'bin', 'omoide.js'), 'start'], {
      cwd: directory,
      env: {
        PATH: process.env.PATH ?? '',
        OMOIDE_DATA_DIR: join(directory, 'data'),
        OPENAI_BASE_URL: llm!.url,
        DISCORD_TOKEN: token,
        DISCORD_API_BASE: discord!.apiBase,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('close', done));
    await discord!.waitForRequest((request) => request.method === 'PUT' && request.path.endsWith('/commands'), 20_000);
    const guildId = discord!.guilds[0]!.id;
    discord!.dispatchMessage({ channelId: '300000000000000001', guildId, author: alice, content: `<@${discord!.bot.id}> hi`, mentions: [discord!.bot] });
    expect(contentOf(await discord!.waitForRequest(isMessagePost, 10_000))).toBe('echo: Alice: hi');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('shutting down');
    expect(output).not.toContain(token);
  });
});
