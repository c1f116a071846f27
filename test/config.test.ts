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

  it('reports a YAML syntax error with its line', () => {
    const path = withFile('llm:\n  model: [unclosed\n');
    expect(() => loadConfig({ path, env: {}, cwd: directory })).toThrow(/line \d+/);
  });
});
