/**
 * User-facing text lives in locales/<locale>.yml, keyed by area (`engine.apology`, `console.help`, `prompt.rules`).
 * Missing keys fall back to en-US, then to the key itself, so a half-translated locale never breaks a reply.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { OmoideError } from './errors.js';

export type Locale = 'zh-CN' | 'en-US';
export const fallbackLocale: Locale = 'en-US';

export interface Translator {
  readonly locales: readonly string[];
  t(locale: string, key: string, params?: Readonly<Record<string, string | number>>): string;
}

function flatten(prefix: string, value: unknown, into: Map<string, string>, file: string): void {
  if (typeof value === 'string') {
    into.set(prefix, value);
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatten(prefix ? `${prefix}.${key}` : key, child, into, file);
  } else {
    throw new OmoideError(`${file}: key "${prefix}" must be a string or a map of strings`);
  }
}

export function loadTranslator(directory: string): Translator {
  const tables = new Map<string, Map<string, string>>();
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.yml')).sort()) {
    const path = join(directory, file);
    const table = new Map<string, string>();
    flatten('', parseYaml(readFileSync(path, 'utf8')) ?? {}, table, path);
    tables.set(basename(file, '.yml'), table);
  }
  if (!tables.has(fallbackLocale)) throw new OmoideError(`${directory}: missing ${fallbackLocale}.yml`);
  return {
    locales: [...tables.keys()],
    t(locale, key, params) {
      const template = tables.get(locale)?.get(key) ?? tables.get(fallbackLocale)!.get(key) ?? key;
      if (!params) return template;
      return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
    },
  };
}

/** Maps platform locale tags (zh, zh-TW, en-GB, ...) onto the locales omoide ships. */
export function normalizeLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const lower = tag.toLowerCase();
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en-US';
  return null;
}
