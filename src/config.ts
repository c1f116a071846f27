/**
 * The one configuration: config.yaml (optional; see config.example.yaml) with the environment's overrides (secrets,
 * deployment paths) applied to it, then validated by one schema made of the modules' own settings schemas — every
 * value is checked once, and an error names the key (or the environment variable) and what was expected.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { discordSettingsSchema } from './adapters/discord/settings.js';
import { qqSettingsSchema } from './adapters/qq/settings.js';
import { consolidationSettingsSchema } from './consolidation/settings.js';
import { ConfigError } from './core/errors.js';
import { promptSettingsSchema } from './engine/settings.js';
import { llmSettingsSchema, normalizeOllamaHost, resolveLlmSettings, type ResolvedLlmSettings } from './llm/settings.js';
import { memorySettingsSchema } from './memory/settings.js';
import { shippedCharactersDirectory } from './util/paths.js';
import { parseYamlDocument, yamlValue } from './util/yaml-text.js';

const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    /** relative to dataDir unless absolute */
    database: z.string().min(1).default('omoide.db'),
    /** normal: a commit survives a crash of omoide; full: also a power loss, for an fsync per commit */
    synchronous: z.enum(['normal', 'full']).default('normal'),
    /** defaults to the characters shipped with omoide */
    charactersDir: z.string().min(1).optional(),
    defaultCharacter: z.string().min(1).default('juniper'),
    locale: z.enum(['auto', 'zh-CN', 'en-US']).default('auto'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    llm: llmSettingsSchema.prefault({}),
    discord: discordSettingsSchema.prefault({}),
    qq: qqSettingsSchema.prefault({}),
    prompt: promptSettingsSchema.prefault({}),
    memory: memorySettingsSchema.prefault({}),
    consolidation: consolidationSettingsSchema.prefault({}),
  })
  .strict();

type FileConfig = z.infer<typeof configSchema>;

export interface OmoideConfig extends Omit<FileConfig, 'llm' | 'charactersDir'> {
  readonly charactersDir: string;
  /** where the config came from, for messages */
  readonly source: string;
  /** absolute paths */
  readonly databasePath: string;
  readonly llm: ResolvedLlmSettings;
}

export interface LoadConfigOptions {
  /** defaults to $OMOIDE_CONFIG, then ./config.yaml when it exists */
  readonly path?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** An environment variable that sets one key; `read` turns its text into the value the schema expects. */
interface Override {
  readonly variable: string;
  readonly path: readonly string[];
  readonly read?: (value: string) => unknown;
}

// A number that does not parse stays text, so the schema's error names the variable.
const readNumber = (value: string): unknown => (/^\d+$/.test(value.trim()) ? Number(value) : value);

/** Listed in config.example.yaml's header; an empty variable counts as unset. */
const overrides: readonly Override[] = [
  { variable: 'OMOIDE_DATA_DIR', path: ['dataDir'] },
  { variable: 'OMOIDE_LOG_LEVEL', path: ['logLevel'] },
  { variable: 'OMOIDE_LLM_PROVIDER', path: ['llm', 'provider'] },
  { variable: 'OMOIDE_LLM_MODEL', path: ['llm', 'model'] },
  { variable: 'OPENAI_BASE_URL', path: ['llm', 'baseURL'] },
  { variable: 'OPENAI_API_KEY', path: ['llm', 'apiKey'] },
  { variable: 'OLLAMA_HOST', path: ['llm', 'host'], read: normalizeOllamaHost },
  { variable: 'DISCORD_TOKEN', path: ['discord', 'token'] },
  { variable: 'DISCORD_API_BASE', path: ['discord', 'apiBase'] },
  { variable: 'ONEBOT_PROTOCOL', path: ['qq', 'protocol'] },
  { variable: 'ONEBOT_ENDPOINT', path: ['qq', 'endpoint'] },
  { variable: 'ONEBOT_SELF_ID', path: ['qq', 'selfId'] },
  { variable: 'ONEBOT_TOKEN', path: ['qq', 'token'] },
  { variable: 'ONEBOT_SECRET', path: ['qq', 'secret'] },
  { variable: 'ONEBOT_PATH', path: ['qq', 'path'] },
  { variable: 'ONEBOT_PORT', path: ['qq', 'port'], read: readNumber },
];

export function loadConfig(options: LoadConfigOptions = {}): OmoideConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? env.OMOIDE_CONFIG;
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, 'config.yaml');
  let raw: unknown = {};
  let source = 'defaults';
  if (existsSync(path)) {
    source = path;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError('(file)', `a readable file (${(error as Error).message})`, path);
    }
    const yaml = parseYamlDocument(text);
    if ('problem' in yaml) throw new ConfigError(`line ${yaml.problem.line}`, `valid YAML (${yaml.problem.reason})`, path);
    const read = yamlValue(yaml.document);
    if ('problem' in read) throw new ConfigError('(file)', `valid YAML (${read.problem})`, path);
    raw = read.value ?? {};
  } else if (explicit) {
    throw new ConfigError('(file)', 'the config file to exist', path);
  }
  const applied = applyOverrides(raw, env);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw describeIssue(parsed.error.issues[0]!, applied, source);
  return finish(parsed.data, cwd, source);
}

/** Writes the environment's values into the raw config (a plain object by then, or left for the schema to refuse). */
function applyOverrides(raw: unknown, env: NodeJS.ProcessEnv): Override[] {
  if (!isObject(raw)) return [];
  const applied: Override[] = [];
  for (const override of overrides) {
    const value = env[override.variable];
    if (!value) continue;
    let target: Record<string, unknown> = raw;
    for (const key of override.path.slice(0, -1)) {
      if (!isObject(target[key])) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[override.path.at(-1)!] = override.read ? override.read(value) : value;
    applied.push(override);
  }
  return applied;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeIssue(issue: z.core.$ZodIssue, applied: readonly Override[], source: string): ConfigError {
  const path = issue.path.map(String);
  const key = path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return new ConfigError([...path, issue.keys.join(', ')].join('.'), 'unknown key (check the spelling)', source);
  }
  const fromEnvironment = applied.find((override) => override.path.join('.') === key);
  return fromEnvironment ? new ConfigError(fromEnvironment.variable, issue.message, 'environment') : new ConfigError(key, issue.message, source);
}

/** Paths made absolute and the model's settings resolved. */
function finish(file: FileConfig, cwd: string, source: string): OmoideConfig {
  const dataDir = resolve(cwd, file.dataDir);
  return {
    ...file,
    source,
    dataDir,
    databasePath: isAbsolute(file.database) ? file.database : resolve(dataDir, file.database),
    charactersDir: file.charactersDir ? resolve(cwd, file.charactersDir) : shippedCharactersDirectory,
    memory: {
      ...file.memory,
      embedder: {
        ...file.memory.embedder,
        // Local models live beside the database unless the config says where.
        localModelPath: file.memory.embedder.localModelPath ? resolve(cwd, file.memory.embedder.localModelPath) : join(dataDir, 'models'),
      },
    },
    llm: resolveLlmSettings(file.llm),
  };
}
