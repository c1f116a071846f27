/**
 * Fuzz: config.yaml (config.example.yaml with adversarial changes, cut short or garbled) and the environment
 * variables that override it. loadConfig gives a complete config or a ConfigError naming the key; nothing else.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/core/errors.js';
import { attempt, fileBytes, fuzz, mutated, mutatedText, nastyString, yamlText } from './helpers/fuzz.js';

const directory = mkdtempSync(join(tmpdir(), 'omoide-fuzz-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let caseNumber = 0;

const example: unknown = parse(readFileSync(join(__dirname, '..', 'config.example.yaml'), 'utf8'));

const variables = [
  'OMOIDE_DATA_DIR', 'OMOIDE_LOG_LEVEL', 'OMOIDE_LLM_PROVIDER', 'OMOIDE_LLM_MODEL', 'OPENAI_BASE_URL', 'OPENAI_API_KEY', 'OLLAMA_HOST',
  'DISCORD_TOKEN', 'DISCORD_API_BASE', 'ONEBOT_PROTOCOL', 'ONEBOT_ENDPOINT', 'ONEBOT_SELF_ID', 'ONEBOT_TOKEN', 'ONEBOT_SECRET', 'ONEBOT_PATH',
  'ONEBOT_PORT',
];

const environment = fc.dictionary(
  fc.constantFrom(...variables),
  fc.oneof(fc.constantFrom('openai', 'ollama', 'debug', 'ws-reverse', '8080', '0.0.0.0:11500', 'http://127.0.0.1:9/v1', '123456789', '/onebot', ' '), nastyString),
  { maxKeys: 3 },
);

const configText = fc.oneof(
  { weight: 5, arbitrary: mutatedText(mutated(fc.constant(example)).map(yamlText)) },
  { weight: 1, arbitrary: mutatedText(fc.constantFrom('', '~', '[]', 'llm: &x {a: *x}', 'llm:\n  model: [unclosed\n', 'a: 1\na: 2\n', '\t- x')) },
);

describe('fuzz: config.yaml', () => {
  it('loads a complete config or refuses it with a ConfigError naming the key', () => {
    fuzz(
      'config.yaml',
      fc.record({ bytes: fileBytes(configText), env: environment }),
      ({ bytes, env }) => {
        const path = join(directory, `config-${caseNumber++}.yaml`);
        writeFileSync(path, bytes);
        return attempt(
          () => loadConfig({ path, env, cwd: directory }),
          [ConfigError],
          (config) => {
            for (const path of [config.dataDir, config.databasePath, config.charactersDir]) expect(isAbsolute(path)).toBe(true);
            expect(['openai', 'ollama']).toContain(config.llm.provider);
            JSON.stringify(config);
          },
        );
      },
      { numRuns: 200 },
    );
  });
});
