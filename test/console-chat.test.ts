/** The terminal chat driven as a child process through stdin/stdout, as a person or a script would use it. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeOpenAi } from './fakes/fake-openai-server.js';
import { startFakeOpenAi } from './fakes/fake-openai-server.js';
import { closedPort } from './helpers/ports.js';

const root = resolve(__dirname, '..');
const bin = join(root, 'bin', 'omoide.js');
let directory: string;
let fake: FakeOpenAi | undefined;

// The CLI runs from dist/, which vitest's global setup keeps up to date.
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-console-'));
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  rmSync(directory, { recursive: true, force: true });
});

function runCli(args: string[], input: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: directory,
      env: { PATH: process.env.PATH ?? '', OMOIDE_DATA_DIR: join(directory, 'data'), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('omoide chat (stdin is not a terminal)', () => {
  it('answers one line per message, and different --user names are different people', async () => {
    fake = await startFakeOpenAi();
    const env = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-console-test' };
    const alice = await runCli(['chat', '--user', 'alice', '--character', 'juniper'], 'hello\nmy dog is Biscuit\n', env);
    expect(alice.code, alice.stderr).toBe(0);
    expect(alice.stdout).toBe('Juniper Hale: echo: alice: hello\nJuniper Hale: echo: alice: my dog is Biscuit\n');

    const bob = await runCli(['chat', '--user', 'bob', '--character', 'juniper'], 'hi, I am Bob\n', env);
    expect(bob.stdout).toBe('Juniper Hale: echo: bob: hi, I am Bob\n');
    const bobRequest = fake.chatRequests().at(-1)!.body as { messages: { content: string }[] };
    expect(bobRequest.messages.some((m) => m.content.includes('Biscuit'))).toBe(false);

    // alice comes back: her own history is there, in a new process
    await runCli(['chat', '--user', 'alice', '--character', 'juniper'], 'remember me?\n', env);
    const aliceRequest = fake.chatRequests().at(-1)!.body as { messages: { content: string }[] };
    expect(aliceRequest.messages.some((m) => m.content === 'alice: my dog is Biscuit')).toBe(true);
    expect(aliceRequest.messages.some((m) => m.content.includes('Bob'))).toBe(false);
  });

  it('switches character, lists characters and quits on /quit', async () => {
    fake = await startFakeOpenAi();
    const result = await runCli(['chat', '--user', 'mei'], '/characters\n/character xiaoman\n你好\n/quit\nnot sent\n', {
      OPENAI_BASE_URL: fake.url,
    });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/juniper \(Juniper Hale\).*xiaoman \(苏小满\)/);
    expect(lines[1]).toContain('苏小满');
    expect(lines[2]).toBe('苏小满: echo: mei: 你好');
    expect(lines).toHaveLength(3);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('says in one line how to configure the model when it cannot be reached, without a stack trace', async () => {
    const port = await closedPort();
    const result = await runCli(['chat', '--user', 'alice'], 'hello\n', { OLLAMA_HOST: `http://127.0.0.1:${port}`, OMOIDE_LOG_LEVEL: 'silent' });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Cannot reach the language model (ollama qwen2.5:7b at http://127.0.0.1:${port})`);
    expect(lines[0]).toContain('OPENAI_BASE_URL');
    expect(result.stdout + result.stderr).not.toMatch(/\n\s+at /);
  });

  it('for an OpenAI-compatible server, says to check its address and key rather than to pull an Ollama model', async () => {
    const port = await closedPort();
    const result = await runCli(['chat', '--user', 'alice'], 'hello\n', {
      OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      OPENAI_API_KEY: 'sk-never-shown',
      OMOIDE_LOG_LEVEL: 'silent',
    });
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('Check that the server is running');
    expect(lines[0]).not.toContain('ollama pull');
    expect(result.stdout + result.stderr).not.toContain('sk-never-shown');
  });

  it('rejects an unknown character with one clear line', async () => {
    const result = await runCli(['chat', '--character', 'nobody'], '', { OMOIDE_LOG_LEVEL: 'silent' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('omoide: unknown character "nobody"; available: juniper, xiaoman');
  });

  it('lists its subcommands in --help', async () => {
    const result = await runCli(['--help'], '', {});
    expect(result.stdout).toMatch(/chat/);
    expect(result.stdout).toMatch(/start/);
    expect(result.stdout).toMatch(/character/);
  });
});
