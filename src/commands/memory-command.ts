/**
 * `/memory show | search | forget | forget-me | export` (anyone, about themselves) and `inspect | forget-user |
 * consolidate` (admins). Every answer is private: memories are personal. A scope is (invoker, the character speaking
 * in this channel, this guild), resolved the same way the engine archives turns, so nothing of another user or
 * another character ever shows up here.
 */
import { randomInt } from 'node:crypto';
import type { CommandDefinition, CommandInvocation, CommandResult } from '../core/commands.js';
import type { Engine } from '../engine/engine.js';
import type { Memory } from '../memory/memory.js';
import { scopeKeys, type MemoryScopeKey, type MemoryScopeMode } from '../memory/scope-keys.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { MemoryRecord } from '../store/memory-store.js';
import type { CommandContext } from './command-context.js';
import type { PersonEraser } from '../memory/erase-person.js';

export interface ConsolidationCounts {
  readonly jobs: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
}

/**
 * Runs the due consolidation jobs of one character and guild, or of one user there (the admin's
 * `/memory consolidate [user]`); in main.ts `(scope) => app.consolidator.runDue(scope)`.
 */
export type ConsolidateFunction = (scope: { characterId: string; guildId: string | null; userId?: number }) => Promise<ConsolidationCounts>;


export interface MemoryCommandDependencies {
  readonly engine: Engine;
  readonly memory: Memory;
  readonly store: ConversationStore;
  /** Decides which dialogue `forget-me` erases (this guild's, or every guild's when memory is global). */
  readonly memoryScope: MemoryScopeMode;
  readonly consolidate?: ConsolidateFunction;
  /** Erases a person's memories and dialogue of a scope in one transaction (src/memory/erase-person.ts). */
  readonly erase: PersonEraser;
}

export interface MemoryCommand {
  run(invocation: CommandInvocation, context: CommandContext): Promise<CommandResult>;
}

export const memoryDefinition: CommandDefinition = {
  name: 'memory',
  description: 'What the bot remembers about you',
  subcommands: [
    { name: 'show', description: 'Show what is remembered about you here', options: [], adminOnly: false },
    {
      name: 'search',
      description: 'Search your memories here',
      options: [{ name: 'text', description: 'What to look for', type: 'string', required: true }],
      adminOnly: false,
    },
    {
      name: 'forget',
      description: 'Hide one of your memories (an admin can restore it)',
      options: [{ name: 'id', description: 'Memory id, as shown by /memory show', type: 'string', required: true }],
      adminOnly: false,
    },
    {
      name: 'forget-me',
      description: 'Delete everything remembered about you here',
      options: [{ name: 'confirm', description: 'The confirmation code you were given', type: 'string', required: false }],
      adminOnly: false,
    },
    { name: 'export', description: 'Download your memories here as JSON', options: [], adminOnly: false },
    {
      name: 'inspect',
      description: 'Show what is remembered about a user (admins)',
      options: [{ name: 'user', description: 'The user', type: 'user', required: true }],
      adminOnly: true,
    },
    {
      name: 'forget-user',
      description: 'Delete everything remembered about a user here (admins)',
      options: [{ name: 'user', description: 'The user', type: 'user', required: true }],
      adminOnly: true,
    },
    {
      name: 'consolidate',
      description: 'Run due memory consolidation now (admins)',
      options: [{ name: 'user', description: 'Only this user', type: 'user', required: false }],
      adminOnly: true,
    },
  ],
};

/** How long a `/memory forget-me` confirmation code stays valid. */
export const forgetMeCodeTtlMs = 5 * 60 * 1000;
/** Forget-me codes kept at once, at most: one per person asking within the code's lifetime. */
const maxPendingCodes = 10_000;
/** No 0/O, 1/I/L: codes are typed by hand. */
const codeAlphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const codeLength = 6;
const lineLimit = 200;
const showFactLimit = 30;
const showTurnLimit = 10;
const searchLimit = 8;

function clip(text: string, limit = lineLimit): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > limit ? `${flat.slice(0, limit)}…` : flat;
}

export function formatMemoryLine(record: MemoryRecord): string {
  return `#${record.id} [${record.day}] ${clip(record.content)}`;
}

function newCode(): string {
  let code = '';
  for (let index = 0; index < codeLength; index++) code += codeAlphabet[randomInt(codeAlphabet.length)];
  return code;
}

export function createMemoryCommand(dependencies: MemoryCommandDependencies): MemoryCommand {
  const { engine, memory, store } = dependencies;
  /** Pending forget-me codes by platform user and scope. */
  const pendingCodes = new Map<string, { code: string; expiresAt: number }>();

  const characterOf = (invocation: CommandInvocation) =>
    engine.characterFor(invocation.platform, invocation.guildId, invocation.channelId);

  /** The scope of a platform user in this channel, or null when the user never talked here (nothing stored). */
  const scopeFor = (invocation: CommandInvocation, platformUserId: string): MemoryScopeKey | null => {
    const userId = store.findUserId(invocation.platform, platformUserId);
    if (userId === null) return null;
    return { userId, characterId: characterOf(invocation).id, guildId: invocation.guildId };
  };

  const codeKey = (invocation: CommandInvocation, scope: MemoryScopeKey) =>
    JSON.stringify([invocation.platform, scope.userId, scope.characterId, scopeKeys(dependencies.memoryScope, scope).guildKey]);

  /** Expired codes go; past `maxPendingCodes` (a flood of requests), the oldest go too. */
  const prune = (now: number) => {
    for (const [key, pending] of pendingCodes) {
      if (pending.expiresAt <= now || pendingCodes.size > maxPendingCodes) pendingCodes.delete(key);
      else break; // codes are kept in the order they were given: the rest are newer
    }
  };

  /**
   * Where an admin's acts on another person reach. An owner (the configured ownerIds) reaches the person's whole
   * scope. With memory per guild, that scope is this guild's anyway; with global memory it spans every server and
   * private chat, so a server's admin reaches only what was said in their server (null: the whole scope).
   */
  const adminReach = (invocation: CommandInvocation): { readonly guild: string } | null =>
    dependencies.memoryScope === 'global' && !invocation.isOwner ? { guild: invocation.guildId ?? '' } : null;

  /** Portrait first, then facts and events, then the latest turns; null when nothing is stored. */
  function overview(scope: MemoryScopeKey | null, title: string, t: CommandContext['t'], sourcedOnlyIn?: string): string | null {
    if (!scope) return null;
    const only = sourcedOnlyIn === undefined ? {} : { sourcedOnlyIn };
    const portrait = memory.listForUser(scope, { kinds: ['portrait', 'self_concept'], ...only });
    const facts = memory.listForUser(scope, { kinds: ['fact', 'event', 'daily_summary'], limit: showFactLimit, ...only });
    const turns = memory.listForUser(scope, { kinds: ['turn'], limit: showTurnLimit, ...only });
    if (portrait.length + facts.length + turns.length === 0) return null;
    const lines = [title];
    const section = (key: string, records: readonly MemoryRecord[]) => {
      if (records.length === 0) return;
      lines.push('', t(key), ...records.map(formatMemoryLine));
    };
    section('commands.memory.section-portrait', portrait);
    section('commands.memory.section-facts', facts);
    section('commands.memory.section-turns', turns);
    return lines.join('\n');
  }

  const optionText = (invocation: CommandInvocation, name: string): string => {
    const value = invocation.options[name];
    return typeof value === 'string' ? value.trim() : '';
  };

  return {
    async run(invocation, context) {
      const { t } = context;
      const reply = (text: string): CommandResult => ({ text, private: true });
      const character = characterOf(invocation);
      const now = invocation.timestamp.getTime();
      switch (invocation.subcommand) {
        case 'show': {
          const scope = scopeFor(invocation, invocation.author.id);
          const text = overview(scope, t('commands.memory.show-title', { character: character.name }), t);
          return reply(text ?? t('commands.memory.nothing', { character: character.name }));
        }
        case 'search': {
          const query = optionText(invocation, 'text');
          if (!query) return reply(t('commands.memory.missing-option', { option: 'text' }));
          const scope = scopeFor(invocation, invocation.author.id);
          const found = scope ? (await memory.search(scope, query, { limit: searchLimit, now })).memories : [];
          if (found.length === 0) return reply(t('commands.memory.search-empty', { query: clip(query, 80) }));
          return reply(
            [t('commands.memory.search-title', { query: clip(query, 80) }), ...found.slice(0, searchLimit).map((hit) => formatMemoryLine(hit.record))].join('\n'),
          );
        }
        case 'forget': {
          const raw = optionText(invocation, 'id');
          if (!raw) return reply(t('commands.memory.missing-option', { option: 'id' }));
          const match = /^#?(\d{1,15})$/.exec(raw);
          const shown = match ? `#${Number(match[1])}` : clip(raw, 20);
          const scope = scopeFor(invocation, invocation.author.id);
          const id = match ? Number(match[1]) : NaN;
          // The same answer for an id that does not exist and one that belongs to someone else.
          const owned = scope !== null && Number.isSafeInteger(id) && memory.listForUser(scope, { includeForgotten: false }).some((record) => record.id === id);
          if (!owned) return reply(t('commands.memory.forget-not-found', { id: shown }));
          memory.setForgotten([id], now);
          return reply(t('commands.memory.forget-done', { id }));
        }
        case 'forget-me': {
          const scope = scopeFor(invocation, invocation.author.id);
          if (!scope || memory.findScopeId(scope) === null) return reply(t('commands.memory.nothing', { character: character.name }));
          prune(now);
          const key = codeKey(invocation, scope);
          const given = optionText(invocation, 'confirm');
          if (!given) {
            const code = newCode();
            pendingCodes.delete(key); // re-inserted last: the map stays in the order codes were given
            pendingCodes.set(key, { code, expiresAt: now + forgetMeCodeTtlMs });
            return reply(
              t('commands.memory.forget-me-confirm', { character: character.name, code, minutes: Math.round(forgetMeCodeTtlMs / 60_000) }),
            );
          }
          const pending = pendingCodes.get(key);
          if (!pending || pending.code !== given.toUpperCase()) return reply(t('commands.memory.forget-me-wrong-code'));
          pendingCodes.delete(key);
          const erased = dependencies.erase(scope);
          return reply(t('commands.memory.forget-me-done', { count: erased.memories, messages: erased.messages, character: character.name }));
        }
        case 'export': {
          const scope = scopeFor(invocation, invocation.author.id);
          const records = scope ? memory.listForUser(scope, { includeSuperseded: true, includeForgotten: true }) : [];
          if (records.length === 0) return reply(t('commands.memory.nothing', { character: character.name }));
          const content = JSON.stringify(
            {
              platform: invocation.platform,
              platformUserId: invocation.author.id,
              characterId: character.id,
              memoryScope: dependencies.memoryScope,
              // with global memory these memories belong to no one guild
              guildId: dependencies.memoryScope === 'global' ? null : invocation.guildId,
              exportedAt: new Date(now).toISOString(),
              memories: records,
            },
            null,
            2,
          );
          return {
            text: t('commands.memory.export-done', { count: records.length, character: character.name }),
            private: true,
            file: { name: 'omoide-memories.json', content },
          };
        }
        case 'inspect': {
          const user = optionText(invocation, 'user');
          if (!user) return reply(t('commands.memory.missing-option', { option: 'user' }));
          const scope = scopeFor(invocation, user);
          const reach = adminReach(invocation);
          const text = overview(scope, t('commands.memory.inspect-title', { character: character.name, user }), t, reach?.guild);
          return reply(text ?? t('commands.memory.nothing-user', { character: character.name, user }));
        }
        case 'forget-user': {
          const user = optionText(invocation, 'user');
          if (!user) return reply(t('commands.memory.missing-option', { option: 'user' }));
          const scope = scopeFor(invocation, user);
          const reach = adminReach(invocation);
          const erased = scope ? dependencies.erase(scope, reach ? { onlyIn: reach.guild } : {}) : { memories: 0, messages: 0 };
          return reply(t('commands.memory.forget-user-done', { count: erased.memories, messages: erased.messages, user, character: character.name }));
        }
        case 'consolidate': {
          if (!dependencies.consolidate) return reply(t('commands.memory.consolidate-unavailable'));
          // With global memory a person's consolidation spans every server: not one server's admin's to start.
          if (adminReach(invocation)) return reply(t('commands.memory.consolidate-owners-only'));
          const user = optionText(invocation, 'user');
          let userId: number | null = null;
          if (user) {
            userId = store.findUserId(invocation.platform, user);
            if (userId === null) return reply(t('commands.memory.nothing-user', { character: character.name, user }));
          }
          const counts = await dependencies.consolidate({
            characterId: character.id,
            guildId: invocation.guildId,
            ...(userId === null ? {} : { userId }),
          });
          return reply(t('commands.memory.consolidate-done', { ...counts, character: character.name }));
        }
        default:
          return reply(t('commands.unknown-subcommand', { command: invocation.command, subcommand: invocation.subcommand }));
      }
    },
  };
}
