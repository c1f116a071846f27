/**
 * The one configuration: config.yaml (optional; see config.example.yaml) validated by one schema, then environment
 * overrides for secrets and deployment paths. An error names the key and what was expected.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './core/errors.js';
import type { LlmSettings } from './llm/create-chat-model.js';
import { consolidationSettingsSchema } from './consolidation/settings.js';
import { memorySettingsSchema } from './memory/settings.js';
import { shippedCharactersDirectory } from './util/paths.js';

const positiveInt = z.number().int().positive();

const budgetsSchema = z
  .object({
    system: positiveInt.default(1200),
    world: positiveInt.default(600),
    lorebook: positiveInt.default(600),
    portrait: positiveInt.default(400),
    memories: positiveInt.default(1500),
    scenes: positiveInt.default(1500),
    examples: positiveInt.default(600),
    history: positiveInt.default(3000),
    current: positiveInt.default(1000),
  })
  .strict();

const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    /** relative to dataDir unless absolute */
    database: z.string().min(1).default('omoide.db'),
    /** defaults to the characters shipped with omoide */
    charactersDir: z.string().min(1).optional(),
    defaultCharacter: z.string().min(1).default('juniper'),
    locale: z.enum(['auto', 'zh-CN', 'en-US']).default('auto'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    llm: z
      .object({
        provider: z.enum(['auto', 'openai', 'ollama']).default('auto'),
        /** default per provider: qwen2.5:7b on Ollama, gpt-4o-mini on OpenAI-compatible servers */
        model: z.string().min(1).optional(),
        baseURL: z.string().url().optional(),
        apiKey: z.string().min(1).optional(),
        host: z.string().url().optional(),
        contextWindow: positiveInt.default(8192),
        maxReplyTokens: positiveInt.default(512),
        temperature: z.number().min(0).max(2).default(0.8),
        timeoutMs: positiveInt.default(60_000),
        maxRetries: z.number().int().min(0).max(10).default(3),
        retryBaseDelayMs: positiveInt.default(500),
        retryMaxDelayMs: positiveInt.default(20_000),
      })
      .strict()
      .prefault({}),
    discord: z
      .object({
        /** prefer DISCORD_TOKEN */
        token: z.string().min(1).optional(),
        /** the REST api base for proxies, e.g. https://discord-proxy.example/api (DISCORD_API_BASE) */
        apiBase: z.string().url().optional(),
        /** Discord user ids that count as admins everywhere, besides members with Manage Server */
        ownerIds: z.array(z.string().regex(/^\d+$/, 'a Discord user id (digits)')).default([]),
        /** addressed messages from one user closer together than this are ignored */
        cooldownMs: z.number().int().min(0).default(2000),
        /** channel ids ('*' = all) where saying the character's name or alias addresses the bot */
        nameTriggerChannels: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    qq: z
      .object({
        protocol: z.enum(['ws', 'ws-reverse', 'http']).default('ws'),
        /** ws: the implementation's websocket, e.g. ws://127.0.0.1:3001; http: its HTTP API */
        endpoint: z.string().url().optional(),
        /** the bot's QQ number */
        selfId: z.string().regex(/^\d{5,12}$/, 'a QQ number (5-12 digits)').optional(),
        /** OneBot access_token; prefer ONEBOT_TOKEN. ws-reverse: required of the implementation when set */
        token: z.string().min(1).optional(),
        /** http: OneBot secret that signs posted events (X-Signature); prefer ONEBOT_SECRET */
        secret: z.string().min(1).optional(),
        /** ws-reverse / http: where omoide listens for the implementation */
        path: z.string().startsWith('/').default('/onebot'),
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).optional(),
        ownerIds: z.array(z.string().regex(/^\d+$/, 'a QQ number')).default([]),
        cooldownMs: z.number().int().min(0).default(2000),
      })
      .strict()
      .prefault({}),
    prompt: z
      .object({
        historyMessages: positiveInt.default(40),
        /** longer incoming messages are cut to this many characters */
        maxMessageChars: positiveInt.default(4000),
        budgets: budgetsSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    memory: memorySettingsSchema.prefault({}),
    consolidation: consolidationSettingsSchema.prefault({}),
  })
  .strict();

export type PromptBudgets = z.infer<typeof budgetsSchema>;
type FileConfig = z.infer<typeof configSchema>;

export interface OmoideConfig extends Omit<FileConfig, 'llm' | 'charactersDir'> {
  readonly charactersDir: string;
  /** where the config came from, for messages */
  readonly source: string;
  /** absolute paths */
  readonly databasePath: string;
  readonly llm: LlmSettings & { contextWindow: number; maxReplyTokens: number; temperature: number };
}

export interface LoadConfigOptions {
  /** defaults to $OMOIDE_CONFIG, then ./config.yaml when it exists */
  readonly path?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

function describeIssue(issue: z.core.$ZodIssue): { key: string; expected: string } {
  const key = issue.path.map(String).join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return { key: [...issue.path.map(String), issue.keys.join(', ')].join('.'), expected: 'unknown key (check the spelling)' };
  }
  return { key, expected: issue.message };
}

export function loadConfig(options: LoadConfigOptions = {}): OmoideConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? env.OMOIDE_CONFIG;
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, 'config.yaml');
  let raw: unknown = {};
  let source = 'defaults';
  if (existsSync(path)) {
    source = path;
    try {
      raw = parseYaml(readFileSync(path, 'utf8')) ?? {};
    } catch (error) {
      const where = error instanceof YAMLParseError && error.linePos ? `line ${error.linePos[0].line}` : '(file)';
      throw new ConfigError(where, `valid YAML (${(error as Error).message.split('\n')[0]})`, path);
    }
  } else if (explicit) {
    throw new ConfigError('(file)', 'the config file to exist', path);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const { key, expected } = describeIssue(parsed.error.issues[0]!);
    throw new ConfigError(key, expected, source);
  }
  return applyEnvironment(parsed.data, env, cwd, source);
}

function applyEnvironment(file: FileConfig, env: NodeJS.ProcessEnv, cwd: string, source: string): OmoideConfig {
  const dataDir = resolve(cwd, env.OMOIDE_DATA_DIR || file.dataDir);
  const logLevel = env.OMOIDE_LOG_LEVEL || file.logLevel;
  if (!configSchema.shape.logLevel.safeParse(logLevel).success) {
    throw new ConfigError('OMOIDE_LOG_LEVEL', "'debug', 'info', 'warn', 'error' or 'silent'", 'environment');
  }
  const databasePath = isAbsolute(file.database) ? file.database : resolve(dataDir, file.database);
  const llmFile = file.llm;
  const baseURL = env.OPENAI_BASE_URL || llmFile.baseURL;
  const apiKey = env.OPENAI_API_KEY || llmFile.apiKey;
  const host = env.OLLAMA_HOST ? normalizeOllamaHost(env.OLLAMA_HOST) : llmFile.host;
  const requested = (env.OMOIDE_LLM_PROVIDER || llmFile.provider) as FileConfig['llm']['provider'] | string;
  if (!['auto', 'openai', 'ollama'].includes(requested)) {
    throw new ConfigError('OMOIDE_LLM_PROVIDER', "'auto', 'openai' or 'ollama'", 'environment');
  }
  // 'auto': an OpenAI-compatible endpoint when one is configured, else a local Ollama (the zero-setup default).
  const provider = requested === 'auto' ? (baseURL || apiKey ? 'openai' : 'ollama') : (requested as 'openai' | 'ollama');
  const model = env.OMOIDE_LLM_MODEL || llmFile.model || (provider === 'ollama' ? 'qwen2.5:7b' : 'gpt-4o-mini');
  const discord = {
    ...file.discord,
    token: env.DISCORD_TOKEN || file.discord.token,
    apiBase: env.DISCORD_API_BASE || file.discord.apiBase,
  };
  const qq = {
    ...file.qq,
    protocol: (env.ONEBOT_PROTOCOL || file.qq.protocol) as FileConfig['qq']['protocol'],
    endpoint: env.ONEBOT_ENDPOINT || file.qq.endpoint,
    selfId: env.ONEBOT_SELF_ID || file.qq.selfId,
    token: env.ONEBOT_TOKEN || file.qq.token,
    secret: env.ONEBOT_SECRET || file.qq.secret,
    path: env.ONEBOT_PATH || file.qq.path,
    port: env.ONEBOT_PORT ? Number(env.ONEBOT_PORT) : file.qq.port,
  };
  if (!['ws', 'ws-reverse', 'http'].includes(qq.protocol)) {
    throw new ConfigError('ONEBOT_PROTOCOL', "'ws', 'ws-reverse' or 'http'", 'environment');
  }
  if (qq.port !== undefined && !(Number.isInteger(qq.port) && qq.port > 0 && qq.port < 65536)) {
    throw new ConfigError('ONEBOT_PORT', 'a port number (1-65535)', 'environment');
  }
  if (qq.selfId !== undefined && !/^\d{5,12}$/.test(qq.selfId)) {
    throw new ConfigError('ONEBOT_SELF_ID', 'a QQ number (5-12 digits)', 'environment');
  }
  if (llmFile.maxReplyTokens >= llmFile.contextWindow) {
    throw new ConfigError('llm.maxReplyTokens', `less than llm.contextWindow (${llmFile.contextWindow})`, source);
  }
  return {
    ...file,
    source,
    dataDir,
    databasePath,
    logLevel: logLevel as FileConfig['logLevel'],
    discord,
    qq,
    charactersDir: file.charactersDir ? resolve(cwd, file.charactersDir) : shippedCharactersDirectory,
    memory: {
      ...file.memory,
      embedder: {
        ...file.memory.embedder,
        // Local models live beside the database unless the config says where.
        localModelPath: file.memory.embedder.localModelPath ? resolve(cwd, file.memory.embedder.localModelPath) : join(dataDir, 'models'),
      },
    },
    llm: {
      provider,
      model,
      baseURL,
      apiKey,
      host: host ?? 'http://127.0.0.1:11434',
      timeoutMs: llmFile.timeoutMs,
      maxRetries: llmFile.maxRetries,
      retryBaseDelayMs: llmFile.retryBaseDelayMs,
      retryMaxDelayMs: llmFile.retryMaxDelayMs,
      contextWindow: llmFile.contextWindow,
      maxReplyTokens: llmFile.maxReplyTokens,
      temperature: llmFile.temperature,
    },
  };
}

/** OLLAMA_HOST is often given as "0.0.0.0:11434" or "host:port" without a scheme, as the ollama CLI accepts. */
function normalizeOllamaHost(value: string): string {
  const withScheme = /^https?:\/\//.test(value) ? value : `http://${value}`;
  return withScheme.replace('://0.0.0.0', '://127.0.0.1');
}
