/**
 * One logger factory with namespaces (`llm:openai`, `engine`, `adapter:discord`). Lines go to one sink (stderr by
 * default, a file while the terminal chat owns the screen). Registered secrets are masked in every line.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(namespace: string): Logger;
}

type Sink = (line: string) => void;

const state: { level: LogLevel; sink: Sink; secrets: string[] } = {
  level: (process.env.OMOIDE_LOG_LEVEL as LogLevel | undefined) ?? 'info',
  sink: (line) => process.stderr.write(line + '\n'),
  secrets: [],
};

export function setLogLevel(level: LogLevel): void {
  state.level = level;
}

export function logToStderr(): void {
  state.sink = (line) => process.stderr.write(line + '\n');
}

export function logToFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  state.sink = (line) => appendFileSync(path, line + '\n');
}

/** Secrets (tokens, API keys) registered here are replaced by *** wherever they would be logged. */
export function registerSecret(secret: string | undefined | null): void {
  if (secret && secret.length >= 4 && !state.secrets.includes(secret)) state.secrets.push(secret);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of state.secrets) out = out.split(secret).join('***');
  return out;
}

function describe(value: unknown): string {
  if (value instanceof Error) {
    const cause = value.cause instanceof Error ? ` (cause: ${value.cause.message})` : '';
    return `${value.name}: ${value.message}${cause}`;
  }
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function write(level: LogLevel, namespace: string, message: string, fields?: Record<string, unknown>): void {
  if (levelRank[level] < levelRank[state.level]) return;
  const parts = [new Date().toISOString(), level.toUpperCase().padEnd(5), `[${namespace}]`, message];
  if (fields) for (const [key, value] of Object.entries(fields)) parts.push(`${key}=${describe(value)}`);
  state.sink(redact(parts.join(' ')));
}

export function createLogger(namespace: string): Logger {
  return {
    debug: (message, fields) => write('debug', namespace, message, fields),
    info: (message, fields) => write('info', namespace, message, fields),
    warn: (message, fields) => write('warn', namespace, message, fields),
    error: (message, fields) => write('error', namespace, message, fields),
    child: (sub) => createLogger(`${namespace}:${sub}`),
  };
}
