import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/core/errors.js';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-config-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

function withFile(yaml: string) {
  const path = join(directory, 'config.yaml');
  writeFileSync(path, yaml);
  return path;
}

describe('loadConfig', () => {
  it('accepts config.example.yaml as it is, with the defaults it documents', () => {
    const path = join(__dirname, '..', 'config.example.yaml');
    const config = loadConfig({ path, env: {}, cwd: directory });
    const defaults = loadConfig({ env: {}, cwd: directory });
    // The example spells out the defaults; only the timezone (the system's) and the source may differ.
    expect({ ...config, source: '' }).toEqual({ ...defaults, source: '' });
    expect(config.memory).toMatchObject({ scope: 'per-guild', embedder: { provider: 'builtin' }, decay: { turn: 5, fact: 60 } });
  });

  it('names a wrong memory key', () => {
    expect(() => loadConfig({ path: withFile('memory:\n  embedder:\n    provider: word2vec\n'), env: {}, cwd: directory })).toThrow(/memory\.embedder\.provider/);
    expect(() => loadConfig({ path: withFile('memory:\n  timezone: Mars/Olympus\n'), env: {}, cwd: directory })).toThrow(/memory\.timezone.*IANA/);
  });

  it('works with no file at all: local Ollama, qwen2.5:7b, ./data', () => {
    const config = loadConfig({ env: {}, cwd: directory });
    expect(config.llm).toMatchObject({ provider: 'ollama', model: 'qwen2.5:7b', host: 'http://127.0.0.1:11434' });
    expect(config.databasePath).toBe(join(directory, 'data', 'omoide.db'));
    expect(config.prompt.budgets.history).toBe(3000);
  });

  it('honours the standard environment variables', () => {
    const config = loadConfig({
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-test', OMOIDE_DATA_DIR: join(directory, 'elsewhere') },
      cwd: directory,
    });
    expect(config.llm).toMatchObject({ provider: 'openai', baseURL: 'http://127.0.0.1:9/v1', apiKey: 'sk-test' });
    expect(config.databasePath).toBe(join(directory, 'elsewhere', 'omoide.db'));
    expect(loadConfig({ env: { OLLAMA_HOST: '0.0.0.0:11500' }, cwd: directory }).llm.host).toBe('http://127.0.0.1:11500');
    const qq = loadConfig({ path: withFile('qq:\n  secret: from-file\n'), env: { ONEBOT_SECRET: 'from-env', ONEBOT_TOKEN: 't' }, cwd: directory }).qq;
    expect(qq).toMatchObject({ secret: 'from-env', token: 't' });
  });

  it('reads the file, keeping defaults for what it leaves out', () => {
    const path = withFile('llm:\n  provider: openai\n  model: deepseek-chat\nprompt:\n  budgets:\n    history: 500\n');
    const config = loadConfig({ path, env: {}, cwd: directory });
    expect(config.llm.model).toBe('deepseek-chat');
    expect(config.prompt.budgets).toMatchObject({ history: 500, memories: 1500 });
  });

  it.each([
    ['llm:\n  temperature: hot\n', 'llm.temperature'],
    ['llm:\n  provider: gpt\n', 'llm.provider'],
    ['prompt:\n  budgets:\n    history: -1\n', 'prompt.budgets.history'],
    ['llm:\n  contxtWindow: 4096\n', 'llm.contxtWindow'],
    ['llm:\n  contextWindow: 512\n  maxReplyTokens: 600\n', 'llm.maxReplyTokens'],
    // QQ is validated as a whole connection: once it starts, everything its protocol needs must be there.
    ["qq:\n  endpoint: ws://127.0.0.1:3001\n", 'qq.selfId'],
    ["qq:\n  selfId: 'bot'\n", 'qq.selfId'],
    ["qq:\n  selfId: '123456789'\n", 'qq.endpoint'],
    ["qq:\n  selfId: '123456789'\n  protocol: ws-reverse\n", 'qq.port'],
    ["qq:\n  selfId: '123456789'\n  protocol: ws-reverse\n  port: 8080\n  host: 0.0.0.0\n", 'qq.token'],
    ["qq:\n  selfId: '123456789'\n  protocol: http\n  endpoint: http://127.0.0.1:5700\n  port: 8080\n  host: '::'\n  token: t\n", 'qq.secret'],
  ])('names the key that is wrong: %j', (yaml, expectedKey) => {
    const path = withFile(yaml);
    const error = (() => {
      try {
        loadConfig({ path, env: {}, cwd: directory });
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(expectedKey);
    expect((error as ConfigError).message).toContain(path);
  });

  it('listens beyond loopback only with the token (ws-reverse) or the secret (http)', () => {
    const qq = (yaml: string) => loadConfig({ path: withFile(`qq:\n  selfId: '123456789'\n  port: 8080\n${yaml}`), env: {}, cwd: directory }).qq;
    expect(() => qq('  protocol: ws-reverse\n  host: 0.0.0.0\n')).toThrow(/qq\.token: an access token \(ONEBOT_TOKEN\) .* 0\.0\.0\.0/);
    expect(qq('  protocol: ws-reverse\n  host: 192.168.1.5\n  token: t\n').host).toBe('192.168.1.5');
    expect(qq('  protocol: ws-reverse\n  host: 127.0.0.2\n').host).toBe('127.0.0.2');
    expect(() => qq('  protocol: http\n  endpoint: http://127.0.0.1:5700\n  host: 0.0.0.0\n  token: t\n')).toThrow(/qq\.secret/);
    expect(qq('  protocol: http\n  endpoint: http://127.0.0.1:5700\n  host: 0.0.0.0\n  secret: s\n').secret).toBe('s');
  });

  it('names the environment variable when its value is wrong', () => {
    const wrong = (env: Record<string, string>) => {
      try {
        loadConfig({ env, cwd: directory });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('no error');
    };
    expect(wrong({ ONEBOT_PORT: 'eighty' })).toMatchObject({ key: 'ONEBOT_PORT', source: 'environment' });
    expect(wrong({ OMOIDE_LOG_LEVEL: 'loud' })).toMatchObject({ key: 'OMOIDE_LOG_LEVEL' });
    expect(wrong({ OMOIDE_LLM_PROVIDER: 'gpt' })).toMatchObject({ key: 'OMOIDE_LLM_PROVIDER' });
    expect(wrong({ ONEBOT_SELF_ID: '12' })).toMatchObject({ key: 'ONEBOT_SELF_ID' });
    expect(loadConfig({ env: { ONEBOT_SELF_ID: '123456789', ONEBOT_PROTOCOL: 'ws-reverse', ONEBOT_PORT: '8080' }, cwd: directory }).qq).toMatchObject({
      selfId: '123456789', protocol: 'ws-reverse', port: 8080,
    });
  });

  it('reports a YAML syntax error with its line', () => {
    const path = withFile('llm:\n  model: [unclosed\n');
    expect(() => loadConfig({ path, env: {}, cwd: directory })).toThrow(/line \d+/);
  });
});
