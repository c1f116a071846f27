import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ManualClock } from '../src/core/clock.js';
import type { IncomingMessage } from '../src/core/message.js';
import { countTokens, messageOverheadTokens } from '../src/core/tokens.js';
import { logToFile, logToStderr } from '../src/util/logger.js';
import { ask, createTestRuntime } from './helpers/runtime.js';
import type { FakeOllama } from './fakes/fake-ollama-server.js';
import { startFakeOllama } from './fakes/fake-ollama-server.js';
import type { FakeOpenAi } from './fakes/fake-openai-server.js';
import { startFakeOpenAi } from './fakes/fake-openai-server.js';

const apiKey = 'sk-test-very-secret-key';
let directory: string;
let app: App | undefined;
let openai: FakeOpenAi | undefined;
let ollama: FakeOllama | undefined;
const day = (n: number, hour = 12) => new Date(Date.UTC(2024, 4, n, hour));

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-engine-'));
  logToFile(join(directory, 'test.log'));
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await openai?.close();
  await ollama?.close();
  openai = ollama = undefined;
  logToStderr();
  rmSync(directory, { recursive: true, force: true });
});

/**
 * The app over `env`, with `yaml` added under `llm:`. A healthy answer gets ample time on a busy machine; only the
 * test of a silent server shortens the wait (`timeoutMs`).
 */
async function startApp(env: Record<string, string>, yaml = '', timeoutMs = 10_000): Promise<App> {
  writeFileSync(join(directory, 'config.yaml'), `logLevel: debug\nllm:\n  maxRetries: 2\n  retryBaseDelayMs: 10\n  retryMaxDelayMs: 50\n  timeoutMs: ${timeoutMs}\n${yaml}`);
  const config = loadConfig({ env: { OMOIDE_DATA_DIR: join(directory, 'data'), ...env }, cwd: directory });
  app = await createApp(config, { clock: new ManualClock(day(1)) });
  return app;
}

let sequence = 0;
function groupMessage(userId: string, name: string, text: string, at: Date, mentioned = true): IncomingMessage {
  return {
    platform: 'discord',
    guildId: 'guild-1',
    channelId: 'channel-1',
    messageId: `m${++sequence}`,
    author: { id: userId, displayName: name },
    text,
    addressing: { mentioned, repliedToBot: false, direct: false },
    replyTo: null,
    timestamp: at,
  };
}

describe('engine over the real openai client', () => {
  it('sends the persona and the group history in order with speaker names, and stores both sides', async () => {
    openai = await startFakeOpenAi();
    const { engine, db } = await startApp({ OPENAI_BASE_URL: openai.url, OPENAI_API_KEY: apiKey });
    const first = await ask(engine, groupMessage('u1', 'Aki', 'Hello June!', day(1)));
    expect(first).toMatchObject({ characterId: 'juniper', characterName: 'Juniper Hale', text: 'echo: Aki: Hello June!', failure: null });
    await ask(engine, groupMessage('u2', 'Bo', 'Any letters today?', day(1, 13)));
    await ask(engine, groupMessage('u1', 'Aki', 'What did Bo ask?', day(2)));

    const last = openai.chatRequests().at(-1)!.body as { messages: { role: string; content: string }[]; stream: boolean; model: string };
    expect(last.stream).toBe(true);
    expect(last.model).toBe('gpt-4o-mini');
    expect(last.messages[0]!.role).toBe('system');
    expect(last.messages[0]!.content).toContain('You are Juniper Hale');
    expect(last.messages.slice(1)).toEqual([
      { role: 'user', content: 'Aki: Hello June!' },
      { role: 'assistant', content: 'echo: Aki: Hello June!' },
      { role: 'user', content: 'Bo: Any letters today?' },
      { role: 'assistant', content: 'echo: Bo: Any letters today?' },
      { role: 'user', content: 'Aki: What did Bo ask?' },
      // the card's post_history_instructions close the prompt
      { role: 'system', content: expect.stringContaining("Stay in June's voice") },
    ]);
    const rows = db.prepare('SELECT role, speaker_name, content, created_at FROM messages ORDER BY created_at, id').all();
    expect(rows).toHaveLength(6);
    expect(rows[0]).toMatchObject({ role: 'user', speaker_name: 'Aki', created_at: day(1).getTime() });
    // the reply is placed at the platform time of its message plus the time it took, not at the wall clock
    expect((rows[1] as { created_at: number }).created_at).toBeGreaterThan(day(1).getTime());
    expect((rows[1] as { created_at: number }).created_at).toBeLessThan(day(1, 13).getTime());
  });

  it('the runtime keeps a message that is not addressed to the bot from the engine: nothing stored, nothing asked', async () => {
    openai = await startFakeOpenAi();
    const { engine, store } = await startApp({ OPENAI_BASE_URL: openai.url });
    const runtime = createTestRuntime(engine);
    runtime.start();
    await runtime.receive(groupMessage('u1', 'Aki', 'just chatting', day(1), false), { messageLimit: 2000, send: async () => {} });
    await runtime.stop();
    expect(store.messageCount()).toBe(0);
    expect(openai.chatRequests()).toHaveLength(0);
  });

  it('keeps every request inside the context window minus the reply reserve', async () => {
    openai = await startFakeOpenAi({ reply: () => 'A fairly long answer about the sea and the lighthouse. '.repeat(8) });
    const { engine } = await startApp({ OPENAI_BASE_URL: openai.url }, '  contextWindow: 1500\n  maxReplyTokens: 300\n');
    for (let i = 0; i < 30; i++) {
      await ask(engine, groupMessage(`u${i % 3}`, `User${i % 3}`, `message ${i}: ${'我今天去了海边，看到很多船。'.repeat(3)}`, day(1, i % 24)));
    }
    for (const request of openai.chatRequests()) {
      const body = request.body as { messages: { content: string }[]; max_tokens?: number; max_completion_tokens?: number };
      const used = body.messages.reduce((sum, m) => sum + countTokens(m.content) + messageOverheadTokens, 0);
      expect(used).toBeLessThanOrEqual(1500 - 300);
      expect(body.max_tokens ?? body.max_completion_tokens).toBe(300);
    }
    const last = openai.chatRequests().at(-1)!.body as { messages: { content: string }[] };
    expect(last.messages.at(-2)!.content).toContain('message 29');
    expect(last.messages.some((m) => m.content.includes('message 0:'))).toBe(false); // the oldest dropped first
  });

  it('retries a 500 and a 429 with Retry-After, then answers', async () => {
    openai = await startFakeOpenAi();
    const { engine } = await startApp({ OPENAI_BASE_URL: openai.url });
    openai.failNext({ status: 500 }, { status: 429, retryAfter: '0.05' });
    const reply = await ask(engine, groupMessage('u1', 'Aki', 'are you there?', day(1)));
    expect(reply?.failure).toBeNull();
    expect(reply?.text).toBe('echo: Aki: are you there?');
    expect(openai.chatRequests()).toHaveLength(3);
  });

  it('apologizes in the character language when the model fails for good, keeps the message, logs the cause but not the key', async () => {
    openai = await startFakeOpenAi();
    const { engine, db } = await startApp({ OPENAI_BASE_URL: openai.url, OPENAI_API_KEY: apiKey });
    engine.setCharacter('discord', 'guild-1', 'channel-1', 'xiaoman');
    openai.failNext({ status: 503 }, { status: 503 }, { status: 503 });
    const reply = await ask(engine, groupMessage('u1', 'Aki', '你好', day(1)));
    expect(reply?.failure?.kind).toBe('server');
    expect(reply?.text).toContain('抱歉');
    expect(db.prepare("SELECT content FROM messages WHERE role = 'user'").all()).toEqual([{ content: '你好' }]);
    const log = readFileSync(join(directory, 'test.log'), 'utf8');
    expect(log).toContain('reply failed');
    expect(log).not.toContain(apiKey);
  });

  it('times out a silent server, and reports a refused connection as such', async () => {
    openai = await startFakeOpenAi();
    const { engine } = await startApp({ OPENAI_BASE_URL: openai.url }, '', 500);
    openai.failNext({ delayMs: 5000 }, { delayMs: 5000 }, { delayMs: 5000 });
    expect((await ask(engine, groupMessage('u1', 'Aki', 'hello?', day(1))))?.failure?.kind).toBe('timeout');
    await app!.close();
    const closedUrl = openai.url;
    await openai.close();
    openai = undefined;
    const refused = (await startApp({ OPENAI_BASE_URL: closedUrl })).engine;
    const reply = await ask(refused, groupMessage('u1', 'Aki', 'hello again', day(2)));
    expect(reply?.failure?.kind).toBe('connection');
    expect(reply?.text).toMatch(/Sorry/);
  });
});

describe('engine over the real ollama client', () => {
  it('streams NDJSON from /api/chat with the same layout', async () => {
    ollama = await startFakeOllama();
    const { engine } = await startApp({ OLLAMA_HOST: ollama.url });
    engine.setCharacter('console', null, 'dm:mei', 'xiaoman');
    const message: IncomingMessage = {
      platform: 'console', guildId: null, channelId: 'dm:mei', messageId: 'c1',
      author: { id: 'mei', displayName: 'mei' }, text: '今天下雨了', addressing: { mentioned: false, repliedToBot: false, direct: true },
      replyTo: null, timestamp: day(3),
    };
    const reply = await ask(engine, message);
    expect(reply).toMatchObject({ characterId: 'xiaoman', text: 'echo: mei: 今天下雨了', failure: null, locale: 'zh-CN' });
    const body = ollama.chatRequests()[0]!.body as { model: string; stream: boolean; messages: { role: string; content: string }[] };
    expect(body.model).toBe('qwen2.5:7b');
    expect(body.stream).toBe(true);
    expect(body.messages[0]!.content).toContain('你是苏小满');
    expect(body.messages.at(-2)).toEqual({ role: 'user', content: 'mei: 今天下雨了' });
  });
});
