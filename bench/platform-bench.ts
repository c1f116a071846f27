/**
 * `npm run bench:platforms`: messages per second and per-message latency through the whole platform path — a
 * loopback fake of the platform → the real discord.js Client or Koishi OneBot adapter (built by main.ts's
 * configuredAdapters) → engine → adapter → fake — with a zero-latency in-process model, and the latency the path
 * adds over calling app.engine.answer directly with the same messages.
 *
 * Memory is on with the default builtin embedder, so every turn also retrieves memories for its prompt and archives
 * itself as one. Fakes, clients and engine share this one Node process; the fakes' own work (JSON, HTTP, websocket)
 * is counted in the path. The per-user cooldown is set to 0 in the config so every message is answered.
 *
 * `--quick` runs a tenth of the messages (a smoke test of the bench itself).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { App } from '../src/app.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Engine } from '../src/engine/engine.js';
import type { IncomingMessage } from '../src/core/message.js';
import type { Embedder } from '../src/llm/types.js';
import { configuredAdapters } from '../src/main.js';
import { createEmbedder } from '../src/memory/create-embedder.js';
import { setLogLevel } from '../src/util/logger.js';
import { nextSnowflake, startFakeDiscord, type FakeUser } from '../test/fakes/fake-discord.js';
import { at, createFakeOneBot, text } from '../test/fakes/fake-onebot.js';
import { summarize } from './stats.js';
import { sampleSentences, zeroLatencyModel } from './zero-latency-model.js';

const scale = process.argv.includes('--quick') ? 0.1 : 1;
const warmupMessages = Math.round(100 * scale);
const sequentialMessages = Math.round(500 * scale);
const concurrentMessages = Math.round(2000 * scale);
/** Messages the Discord run as shipped gets: at its ~25 msgs/s cap, more would only add seconds. */
const shippedDiscordMessages = Math.round(300 * scale);
/** Closed loop: a new message is sent as soon as one of these is answered. */
const inFlightWindow = 100;
const userCount = 20;
const channelCount = 10;
const replyTimeoutMs = 20_000;



/** The default config's embedder (builtin), created once and shared by every app in this run. */
async function defaultEmbedder(): Promise<Embedder> {
  const directory = mkdtempSync(join(tmpdir(), 'omoide-platform-bench-config-'));
  try {
    const config = loadConfig({ env: { OMOIDE_DATA_DIR: directory }, cwd: directory });
    return await createEmbedder(config.memory.embedder, config.llm);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Message k comes from user k mod 20; the channel shifts every round of users, so each user talks in every channel. */
function slot(index: number): { user: number; channel: number; sentence: string } {
  return {
    user: index % userCount,
    channel: (index + Math.floor(index / userCount)) % channelCount,
    sentence: sampleSentences[index % sampleSentences.length]!,
  };
}

/** One platform wired end to end; `send` dispatches message k and returns the platform id its reply will quote. */
interface PlatformRun {
  send(index: number): string;
  readonly tracker: ReplyTracker;
  /** What the adapter handed the engine, in order, and how long the engine took for each (by message id). */
  readonly handled: IncomingMessage[];
  readonly engineMs: Map<string, number>;
  stop(): Promise<void>;
}

interface ReplyTracker {
  /** The fake saw the reply quoting `key`. */
  replied(key: string): void;
  /** Resolves with the performance.now() at which the reply to `key` reached the fake. */
  wait(key: string): Promise<number>;
}

function createReplyTracker(): ReplyTracker {
  const arrived = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  return {
    replied(key) {
      const now = performance.now();
      const resolve = waiting.get(key);
      if (resolve) {
        waiting.delete(key);
        resolve(now);
      } else {
        arrived.set(key, now);
      }
    },
    wait(key) {
      const seen = arrived.get(key);
      if (seen !== undefined) {
        arrived.delete(key);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(key);
          reject(new Error(`no reply to message ${key} within ${replyTimeoutMs} ms`));
        }, replyTimeoutMs);
        waiting.set(key, (at) => {
          clearTimeout(timer);
          resolve(at);
        });
      });
    },
  };
}

/** Times the engine inside the path, and keeps the messages for the engine-only replay. */
function timedEngine(engine: Engine): { engine: Engine; handled: IncomingMessage[]; engineMs: Map<string, number> } {
  const handled: IncomingMessage[] = [];
  const engineMs = new Map<string, number>();
  return {
    handled,
    engineMs,
    engine: {
      ...engine,
      async answer(message, options) {
        handled.push(message);
        const began = performance.now();
        try {
          return await engine.answer(message, options);
        } finally {
          engineMs.set(message.messageId, performance.now() - began);
        }
      },
    },
  };
}

interface Workspace {
  readonly directory: string;
  readonly app: App;
  readonly run: ReturnType<typeof timedEngine>;
  readonly services: ReturnType<typeof configuredAdapters>;
  close(): Promise<void>;
}

async function openWorkspace(env: Record<string, string>, beforeStart: () => () => void = () => () => {}): Promise<Workspace> {
  const directory = mkdtempSync(join(tmpdir(), 'omoide-platform-bench-'));
  writeFileSync(join(directory, 'config.yaml'), 'discord:\n  cooldownMs: 0\nqq:\n  cooldownMs: 0\n');
  const config = loadConfig({ env: { OMOIDE_DATA_DIR: join(directory, 'data'), ...env }, cwd: directory });
  const app = await createApp(config, { chatModel: zeroLatencyModel, embedder });
  const run = timedEngine(app.engine);
  const services = configuredAdapters(config, { ...app, engine: run.engine });
  const started: typeof services = [];
  const close = async () => {
    for (const service of [...started].reverse()) await service.stop();
    await app.close();
    rmSync(directory, { recursive: true, force: true });
  };
  const restore = beforeStart();
  try {
    for (const service of services) {
      await service.start();
      started.push(service);
    }
  } catch (error) {
    await close();
    throw error;
  } finally {
    restore();
  }
  return { directory, app, run, services, close };
}

/**
 * discord.js (@discordjs/rest) holds every client to 50 REST requests per second, Discord's own global limit for
 * a bot; an answered message costs two (typing, reply). To measure omoide's path rather than that limit, the
 * measured Discord runs raise it while the adapter's Client is created (it copies the defaults then); the run
 * "as shipped" keeps it. Only this benchmark does this.
 */
function liftDiscordGlobalLimit(): () => void {
  const rest = createRequire(import.meta.url)('@discordjs/rest') as { DefaultRestOptions: { globalRequestsPerSecond: number } };
  const previous = rest.DefaultRestOptions.globalRequestsPerSecond;
  rest.DefaultRestOptions.globalRequestsPerSecond = 1_000_000;
  return () => {
    rest.DefaultRestOptions.globalRequestsPerSecond = previous;
  };
}

async function startDiscord(options: { liftGlobalLimit: boolean }): Promise<PlatformRun> {
  const guildId = '200000000000000001';
  const channels = Array.from({ length: channelCount }, (_, i) => ({ id: `3000000000000000${String(i).padStart(2, '0')}`, name: `channel-${i}` }));
  const users: FakeUser[] = Array.from({ length: userCount }, (_, i) => ({
    id: `5000000000000000${String(i).padStart(2, '0')}`,
    username: `user${i}`,
    global_name: `User ${i}`,
  }));
  const fake = await startFakeDiscord({ guilds: [{ id: guildId, name: 'Bench', channels }] });
  const tracker = createReplyTracker();
  fake.onRequest((request) => {
    if (request.method !== 'POST' || !/^\/channels\/\d+\/messages$/.test(request.path)) return;
    const quoted = (request.body as { message_reference?: { message_id?: string } } | null)?.message_reference?.message_id;
    if (quoted) tracker.replied(quoted);
  });
  let workspace: Workspace;
  try {
    workspace = await openWorkspace(
      { DISCORD_TOKEN: 'bench-token.abc.def', DISCORD_API_BASE: fake.apiBase },
      options.liftGlobalLimit ? liftDiscordGlobalLimit : undefined,
    );
  } catch (error) {
    await fake.close();
    throw error;
  }
  return {
    tracker,
    handled: workspace.run.handled,
    engineMs: workspace.run.engineMs,
    send(index) {
      const { user, channel, sentence } = slot(index);
      const id = nextSnowflake();
      fake.dispatchMessage({ id, guildId, channelId: channels[channel]!.id, author: users[user]!, content: `<@${fake.bot.id}> ${sentence}` });
      return id;
    },
    async stop() {
      await workspace.close();
      await fake.close();
    },
  };
}

async function startQQ(): Promise<PlatformRun> {
  const selfId = '123456789';
  const fake = createFakeOneBot({ selfId, nickname: 'omoide' });
  const endpoint = await fake.listen();
  const tracker = createReplyTracker();
  fake.onAction((entry) => {
    if (entry.action !== 'send_group_msg') return;
    const [first] = (entry.params.message ?? []) as { type: string; data: Record<string, unknown> }[];
    if (first?.type === 'reply') tracker.replied(String(first.data.id));
  });
  let workspace: Workspace;
  try {
    workspace = await openWorkspace({ ONEBOT_PROTOCOL: 'ws', ONEBOT_ENDPOINT: endpoint, ONEBOT_SELF_ID: selfId });
  } catch (error) {
    await fake.close();
    throw error;
  }
  let nextMessageId = 2_000_000;
  return {
    tracker,
    handled: workspace.run.handled,
    engineMs: workspace.run.engineMs,
    send(index) {
      const { user, channel, sentence } = slot(index);
      const messageId = nextMessageId++;
      fake.pushGroupMessage({
        groupId: String(700_001 + channel),
        userId: String(30_001 + user),
        member: { card: `用户${user}` },
        message: [at(selfId), text(` ${sentence}`)],
        messageId,
      });
      return String(messageId);
    },
    async stop() {
      await workspace.close();
      await fake.close();
    },
  };
}

interface Sequential {
  readonly keys: string[];
  readonly latencies: number[];
  readonly wallMs: number;
}

async function runSequential(run: PlatformRun, from: number, count: number): Promise<Sequential> {
  const keys: string[] = [];
  const latencies: number[] = [];
  const began = performance.now();
  for (let index = from; index < from + count; index++) {
    const sentAt = performance.now();
    const key = run.send(index);
    const repliedAt = await run.tracker.wait(key);
    keys.push(key);
    latencies.push(repliedAt - sentAt);
  }
  return { keys, latencies, wallMs: performance.now() - began };
}

/** Keeps `window` messages in flight; wall time from the first dispatch to the last reply. */
async function runConcurrent(run: PlatformRun, from: number, count: number, window: number): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  const began = performance.now();
  let lastReply = began;
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    const launch = (): void => {
      const index = from + sent++;
      const sentAt = performance.now();
      const key = run.send(index);
      run.tracker.wait(key).then((repliedAt) => {
        latencies.push(repliedAt - sentAt);
        lastReply = Math.max(lastReply, repliedAt);
        if (++answered === count) resolve();
        else if (sent < count) launch();
      }, reject);
    };
    for (let i = 0; i < Math.min(window, count); i++) launch();
  });
  return { latencies, wallMs: lastReply - began };
}

/**
 * The same messages, in the same order, straight into app.engine.answer of a fresh app (with the channel's character,
 * as the runtime resolves it); times the last `measured`.
 */
async function runEngineOnly(messages: readonly IncomingMessage[], measured: number): Promise<{ latencies: number[]; wallMs: number }> {
  const directory = mkdtempSync(join(tmpdir(), 'omoide-platform-bench-engine-'));
  const app = await createApp(loadConfig({ env: { OMOIDE_DATA_DIR: directory }, cwd: directory }), { chatModel: zeroLatencyModel, embedder });
  try {
    const latencies: number[] = [];
    const firstMeasured = messages.length - measured;
    let wallMs = 0;
    for (const [position, message] of messages.entries()) {
      const began = performance.now();
      const reply = await app.engine.answer(message, { character: app.engine.characterFor(message.platform, message.guildId, message.channelId) });
      const took = performance.now() - began;
      if (reply.failure) throw new Error(`engine-only replay: no reply to message ${message.messageId}`);
      if (position >= firstMeasured) {
        latencies.push(took);
        wallMs += took;
      }
    }
    return { latencies, wallMs };
  } finally {
    await app.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

const ms = (value: number): string => value.toFixed(2).padStart(8);
const rate = (count: number, wallMs: number): string => (count / (wallMs / 1000)).toFixed(0).padStart(7);
const blank = '—'.padStart(7);

function row(platform: string, measurement: string, count: number | null, perSecond: string, latencies: readonly number[] | null): void {
  const summary = latencies ? summarize(latencies) : null;
  const cells = summary ? [ms(summary.p50), ms(summary.p95), ms(summary.p99)] : ['', '', ''].map(() => '—'.padStart(8));
  console.log(`${platform.padEnd(8)} ${measurement.padEnd(46)} ${String(count ?? '—').padStart(5)} ${perSecond} ${cells.join(' ')}`);
}

function differenceRow(platform: string, measurement: string, a: readonly number[], b: readonly number[]): void {
  const [x, y] = [summarize(a), summarize(b)];
  const cells = [x.p50 - y.p50, x.p95 - y.p95, x.p99 - y.p99].map(ms);
  console.log(`${platform.padEnd(8)} ${measurement.padEnd(46)} ${'—'.padStart(5)} ${blank} ${cells.join(' ')}`);
}

async function measurePlatform(platform: string, start: () => Promise<PlatformRun>): Promise<void> {
  const run = await start();
  let sequential: Sequential;
  let concurrent: { latencies: number[]; wallMs: number };
  try {
    await runSequential(run, 0, warmupMessages);
    await runConcurrent(run, warmupMessages, warmupMessages, inFlightWindow);
    sequential = await runSequential(run, 2 * warmupMessages, sequentialMessages);
    concurrent = await runConcurrent(run, 2 * warmupMessages + sequentialMessages, concurrentMessages, inFlightWindow);
  } finally {
    await run.stop();
  }
  // Replayed up to the end of the sequential part, so the store and memories grow as they did in the path.
  const replay = run.handled.slice(0, 2 * warmupMessages + sequentialMessages);
  const engineOnly = await runEngineOnly(replay, sequentialMessages);
  const inPath = sequential.keys.map((key) => run.engineMs.get(key) ?? Number.NaN);
  const added = sequential.latencies.map((latency, i) => latency - inPath[i]!);

  row(platform, 'end to end, one at a time', sequentialMessages, rate(sequentialMessages, sequential.wallMs), sequential.latencies);
  row(platform, '  engine.answer inside that path', sequentialMessages, blank, inPath);
  row(platform, '  engine.answer alone, same messages replayed', sequentialMessages, rate(sequentialMessages, engineOnly.wallMs), engineOnly.latencies);
  differenceRow(platform, '  added: end-to-end pN − engine-alone pN', sequential.latencies, engineOnly.latencies);
  row(platform, '  added per message: end to end − in path', sequentialMessages, blank, added);
  row(platform, `end to end, ${inFlightWindow} in flight`, concurrentMessages, rate(concurrentMessages, concurrent.wallMs), concurrent.latencies);
}

async function measureDiscordAsShipped(): Promise<void> {
  const run = await startDiscord({ liftGlobalLimit: false });
  try {
    const warmup = Math.min(warmupMessages, 20);
    await runSequential(run, 0, warmup);
    const concurrent = await runConcurrent(run, warmup, shippedDiscordMessages, inFlightWindow);
    row('discord', `  same, discord.js 50 req/s limit as shipped`, shippedDiscordMessages, rate(shippedDiscordMessages, concurrent.wallMs), concurrent.latencies);
  } finally {
    await run.stop();
  }
}

setLogLevel('warn');
const began = performance.now();
const embedder = await defaultEmbedder();
console.log(
  `platform path: fake platform on loopback → real client + adapter → engine → adapter → fake; zero-latency in-process model;\n` +
    `memory on: each turn retrieves memories and archives one, embedded by the default embedder (${embedder.id});\n` +
    `${userCount} users over ${channelCount} channels/groups, ` +
    `every message an @mention; cooldown 0; warm-up ${2 * warmupMessages} messages per run; fakes share this process.\n` +
    `Discord runs lift discord.js's 50 requests/s global limit (2 requests per answer) except the one marked "as shipped".\n`,
);
console.log(`${'platform'.padEnd(8)} ${'measurement'.padEnd(46)} ${'n'.padStart(5)} ${'msgs/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
await measurePlatform('discord', () => startDiscord({ liftGlobalLimit: true }));
await measureDiscordAsShipped();
await measurePlatform('qq', startQQ);
console.log(`\n(${((performance.now() - began) / 1000).toFixed(1)} s)`);
// koishi-plugin-adapter-onebot 6.9 never clears its per-action response timer (30 s as omoide configures it), so
// the process would idle that long after the last reply with everything already stopped.
process.exit(0);
