/**
 * Imports a MemoryBank memory.json (zhongwanjun/MemoryBank-SiliconFriend):
 *
 *   { "<user>": { "name", "history": { "YYYY-MM-DD": [{ "query", "response" }] },
 *                 "summary": { day: text }, "personality": { day: text }, "overall_history", "overall_personality" } }
 *
 * Each user becomes a person on `platform` (the CLI picks the terminal, so `omoide chat --user <name>` talks as them):
 * every {query, response} pair is stored as two messages of their private conversation with the character, dated
 * that day, and archived as a dialogue memory; dated summaries become daily summaries, the personality notes the
 * user's portrait.
 *
 * All or nothing: the whole file is validated before anything is written (the first bad record is named), embedded,
 * then written in ONE transaction. Idempotent: every imported message carries a `memorybank:<day>#<n>` platform id,
 * so a second import of the same file adds only what is new.
 */
import { readFileSync, statSync } from 'node:fs';
import { InputError } from '../../core/errors.js';
import { countTokens } from '../../core/tokens.js';
import type { SqliteDatabase } from '../../store/db.js';
import type { ConversationKey, ConversationStore } from '../../store/conversation-store.js';
import { instantOfLocalTime } from '../date-query.js';
import type { Memory, MemoryDraft, PreparedWrite } from '../memory.js';
import { formatTurn } from '../retrieval.js';
import type { Logger } from '../../util/logger.js';

export const maxMemoryBankFileBytes = 256 * 1024 * 1024;
const idPrefix = 'memorybank:';

export interface MemoryBankDialogue {
  readonly day: string;
  readonly query: string;
  readonly response: string;
}

export interface MemoryBankPerson {
  /** the user key, trimmed (the public English file has keys like " Jason ") */
  readonly name: string;
  /** by day, then in file order */
  readonly dialogue: readonly MemoryBankDialogue[];
  readonly summaries: readonly { readonly day: string; readonly text: string }[];
  /** the latest personality note, or overall_personality when present */
  readonly portrait: { readonly day: string; readonly text: string } | null;
}

export interface MemoryBankImportOptions {
  readonly db: SqliteDatabase;
  readonly store: ConversationStore;
  readonly memory: Memory;
  /** who had these conversations: the character's id and the name its replies are stored under */
  readonly character: { readonly id: string; readonly name: string };
  readonly file: string;
  /** IANA timezone the file's days are in (the memory timezone) */
  readonly timeZone: string;
  /** where the people live, e.g. the terminal ('console') */
  readonly platform: string;
  /** their server/group, when the platform has one */
  readonly guildId: string | null;
  /** the channel of each person's conversation, e.g. the terminal's private `dm:<name>` */
  readonly channelId: (name: string) => string;
  readonly onProgress?: (done: number, total: number) => void;
  readonly logger?: Logger;
}

export interface MemoryBankImportResult {
  readonly people: number;
  readonly dialogueImported: number;
  readonly dialogueSkipped: number;
  readonly summariesImported: number;
  readonly portraitsImported: number;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const dayPattern = /^\d{4}-\d{2}-\d{2}$/;

function isRealDay(day: string): boolean {
  if (!dayPattern.test(day)) return false;
  const [year, month, date] = day.split('-').map(Number);
  const instant = new Date(Date.UTC(year!, month! - 1, date!));
  return instant.getUTCFullYear() === year && instant.getUTCMonth() === month! - 1 && instant.getUTCDate() === date;
}

function datedTexts(value: unknown, where: string): { day: string; text: string }[] {
  if (value === undefined || value === null) return [];
  if (!isObject(value)) throw new InputError(`${where}: expected an object of day → text`);
  const entries: { day: string; text: string }[] = [];
  for (const [day, text] of Object.entries(value)) {
    if (!isRealDay(day)) throw new InputError(`${where}: "${day}" is not a date (YYYY-MM-DD)`);
    if (typeof text !== 'string') throw new InputError(`${where}["${day}"]: expected text`);
    if (text.trim()) entries.push({ day, text: text.trim() });
  }
  return entries.sort((left, right) => left.day.localeCompare(right.day));
}

/** Reads and validates the whole file; throws an InputError naming the file and the first bad record. */
export function readMemoryBankFile(file: string): MemoryBankPerson[] {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new InputError(`${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (size > maxMemoryBankFileBytes) throw new InputError(`${file}: ${size} bytes is over the ${maxMemoryBankFileBytes}-byte limit for an import`);
  const bytes = readFileSync(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${file}: the file is not UTF-8 text`);
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: invalid JSON (${(error as Error).message})`);
  }
  if (!isObject(root)) throw new InputError(`${file}: expected an object of users at the top level`);
  const people: MemoryBankPerson[] = [];
  const seen = new Set<string>();
  for (const [key, value] of Object.entries(root)) {
    const name = key.trim();
    const where = `${file}: user "${name}"`;
    if (!name) throw new InputError(`${file}: a user has an empty name`);
    if (seen.has(name)) throw new InputError(`${where} appears twice (after trimming spaces)`);
    seen.add(name);
    if (!isObject(value)) throw new InputError(`${where}: expected an object`);
    if (!isObject(value.history)) throw new InputError(`${where}: "history" must be an object of day → dialogue`);
    const dialogue: MemoryBankDialogue[] = [];
    for (const day of Object.keys(value.history).sort()) {
      if (!isRealDay(day)) throw new InputError(`${where}: history day "${day}" is not a date (YYYY-MM-DD)`);
      const turns = value.history[day];
      if (!Array.isArray(turns)) throw new InputError(`${where}, ${day}: expected a list of {query, response}`);
      turns.forEach((turn: unknown, index) => {
        const record = `${where}, ${day}, entry ${index + 1}`;
        if (!isObject(turn)) throw new InputError(`${record}: expected {query, response}`);
        if (typeof turn.query !== 'string' || !turn.query.trim()) throw new InputError(`${record}: "query" must be non-empty text`);
        if (typeof turn.response !== 'string') throw new InputError(`${record}: "response" must be text`);
        dialogue.push({ day, query: turn.query.trim(), response: turn.response.trim() });
      });
    }
    const summaries = datedTexts(value.summary, `${where}, summary`);
    const overallHistory = typeof value.overall_history === 'string' ? value.overall_history.trim() : '';
    const lastDay = dialogue.at(-1)?.day ?? summaries.at(-1)?.day;
    if (overallHistory && lastDay) summaries.push({ day: lastDay, text: overallHistory });
    const personality = datedTexts(value.personality, `${where}, personality`);
    const overallPersonality = typeof value.overall_personality === 'string' ? value.overall_personality.trim() : '';
    const portrait = overallPersonality && lastDay ? { day: lastDay, text: overallPersonality } : (personality.at(-1) ?? null);
    people.push({ name, dialogue, summaries, portrait });
  }
  return people;
}

/** The n-th turn of a day, spaced through the afternoon so turns keep their order and their day in any timezone. */
function turnInstant(day: string, index: number, count: number, timeZone: string): number {
  const spacingMinutes = Math.min(2, 600 / Math.max(1, count));
  return instantOfLocalTime(day, 12 * 60 + index * spacingMinutes, timeZone);
}

export async function importMemoryBank(options: MemoryBankImportOptions): Promise<MemoryBankImportResult> {
  const { db, store, memory, character, timeZone } = options;
  const { platform, guildId, channelId: channelOf } = options;
  const people = readMemoryBankFile(options.file);

  interface PendingTurn {
    readonly person: MemoryBankPerson;
    readonly key: ConversationKey;
    readonly platformMessageId: string;
    readonly query: string;
    readonly response: string;
    readonly at: number;
  }
  const pendingTurns: PendingTurn[] = [];
  let skipped = 0;
  for (const person of people) {
    const key: ConversationKey = { platform, guildId: guildId ?? '', channelId: channelOf(person.name), characterId: character.id };
    const already = store.platformMessageIdsWithPrefix(key, idPrefix);
    const perDay = new Map<string, number>();
    for (const turn of person.dialogue) perDay.set(turn.day, (perDay.get(turn.day) ?? 0) + 1);
    const indexInDay = new Map<string, number>();
    for (const turn of person.dialogue) {
      const index = indexInDay.get(turn.day) ?? 0;
      indexInDay.set(turn.day, index + 1);
      const platformMessageId = `${idPrefix}${turn.day}#${index + 1}`;
      if (already.has(platformMessageId)) {
        skipped++;
        continue;
      }
      const at = turnInstant(turn.day, index, perDay.get(turn.day)!, timeZone);
      pendingTurns.push({ person, key, platformMessageId, query: turn.query, response: turn.response, at });
    }
  }
  // Summaries and portraits are imported with the dialogue they describe, so a rerun does not repeat them either.
  const newPeople = new Set(pendingTurns.map((turn) => turn.person.name));
  const extras = people
    .filter((person) => newPeople.has(person.name))
    .flatMap((person) => [
      ...person.summaries.map((summary) => ({ person, kind: 'daily_summary' as const, ...summary })),
      ...(person.portrait ? [{ person, kind: 'portrait' as const, ...person.portrait }] : []),
    ]);

  const drafts: MemoryDraft[] = [
    ...pendingTurns.map((turn) => ({
      kind: 'turn' as const,
      content: formatTurn(turn.person.name, turn.query, character.name, turn.response),
      occurredAt: turn.at,
    })),
    ...extras.map((extra) => ({
      kind: extra.kind,
      content: extra.text,
      occurredAt: instantOfLocalTime(extra.day, 23 * 60, timeZone),
      importance: 0.7,
    })),
  ];
  const prepared = await memory.prepareMany(drafts, options.onProgress);
  options.logger?.info('writing the import in one transaction', { dialogue: pendingTurns.length, memories: prepared.length });

  db.transaction(() => {
    const writes: PreparedWrite[] = [];
    const userIds = new Map<string, number>();
    pendingTurns.forEach((turn, index) => {
      const { userId, conversationId, messageId } = store.recordUserMessage({
        conversation: turn.key,
        platformUserId: turn.person.name,
        displayName: turn.person.name,
        content: turn.query,
        tokenCount: countTokens(turn.query),
        platformMessageId: turn.platformMessageId,
        createdAt: turn.at,
      });
      userIds.set(turn.person.name, userId);
      const replyId = store.recordAssistantMessage({
        conversationId,
        speakerName: character.name,
        content: turn.response,
        tokenCount: countTokens(turn.response),
        replyToMessageId: messageId,
        failed: false,
        createdAt: turn.at + 1,
      });
      writes.push({ scope: { userId, characterId: character.id, guildId }, memory: prepared[index]!, sourceMessageIds: [messageId, replyId] });
    });
    extras.forEach((extra, index) => {
      const userId = userIds.get(extra.person.name)!;
      writes.push({ scope: { userId, characterId: character.id, guildId }, memory: prepared[pendingTurns.length + index]! });
    });
    memory.writePrepared(writes);
  })();

  return {
    people: people.length,
    dialogueImported: pendingTurns.length,
    dialogueSkipped: skipped,
    summariesImported: extras.filter((extra) => extra.kind === 'daily_summary').length,
    portraitsImported: extras.filter((extra) => extra.kind === 'portrait').length,
  };
}
