import type { CommandInvocation } from '../core/commands.js';
import type { Translator } from '../core/i18n.js';
import { normalizeLocale } from '../core/i18n.js';

/** What every command sees besides its invocation: the locale to answer in and a translator bound to it. */
export interface CommandContext {
  readonly locale: string;
  t(key: string, params?: Readonly<Record<string, string | number>>): string;
}

/** The invoker's own locale when the platform says it, else the language of the character speaking there. */
export function createCommandContext(invocation: CommandInvocation, translator: Translator, fallbackLocale: string): CommandContext {
  const locale = normalizeLocale(invocation.locale) ?? fallbackLocale;
  return { locale, t: (key, params) => translator.t(locale, key, params) };
}
