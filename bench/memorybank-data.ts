/**
 * The MemoryBank evaluation data (zhongwanjun/MemoryBank-SiliconFriend), read from the shared data folder, joined to
 * our own hand-made evidence labels (bench/memorybank-labels.json: indices only, no text of theirs).
 *
 * The data's licence is not ours, so it never enters the repository: `loadMemoryBank()` returns null when the folder
 * is absent and the benchmark skips. A folder that is present but malformed, or labels that do not fit it, throw an
 * InputError naming the file and the record, because a silently wrong join would make recall numbers meaningless.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../src/core/errors.js';

export type MemoryBankLanguage = 'cn' | 'en';

export interface MemoryBankTurn {
  query: string;
  response: string;
}

export interface MemoryBankDay {
  /** YYYY-MM-DD, as keyed in the data. */
  date: string;
  turns: MemoryBankTurn[];
}

export interface MemoryBankUser {
  /** The user key, trimmed (some English keys carry stray spaces). */
  user: string;
  name: string;
  /** Sorted by date. */
  days: MemoryBankDay[];
  /** Dated summaries and personality notes, when the data carries any (the public release leaves them empty). */
  summary?: Record<string, string>;
  personality?: Record<string, string>;
  overallHistory?: string;
  /** The simulated user's profile (personality, hobbies, speaking_style), when present. */
  meta?: Record<string, string>;
}

export interface MemoryBankEvidence {
  date: string;
  /** Index of the {query, response} pair within that date's list, 0-based. */
  turn: number;
}

export interface MemoryBankProbe {
  user: string;
  /** Index of the question within that user's list. */
  index: number;
  question: string;
  /** Turns that hold the answer; empty when the history has none (see note). */
  evidence: MemoryBankEvidence[];
  note?: string;
}

export interface Bank {
  users: MemoryBankUser[];
  probes: MemoryBankProbe[];
}

export interface MemoryBankData {
  cn: Bank;
  en: Bank;
}

export interface LoadMemoryBankOptions {
  /** Defaults to bench/memorybank-labels.json in the repository. */
  labelsPath?: string;
}

const languages: readonly MemoryBankLanguage[] = ['cn', 'en'];

/** The repository root: the nearest folder above this module with a package.json (works from bench/ and dist/bench/). */
export function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(directory, 'package.json'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new InputError(`no package.json above ${fileURLToPath(import.meta.url)}`);
    directory = parent;
  }
}

/** ../shared/data/memorybank relative to the repository root. */
export function defaultMemoryBankDir(): string {
  return resolve(repositoryRoot(), '..', 'shared', 'data', 'memorybank');
}

export function defaultLabelsPath(): string {
  return join(repositoryRoot(), 'bench', 'memorybank-labels.json');
}

/** Loads both languages, or returns null when the data folder is absent. */
export function loadMemoryBank(dir: string = defaultMemoryBankDir(), options: LoadMemoryBankOptions = {}): MemoryBankData | null {
  if (!existsSync(dir)) return null;
  const labelsPath = options.labelsPath ?? defaultLabelsPath();
  const labels = readLabels(labelsPath);
  const result: Partial<Record<MemoryBankLanguage, Bank>> = {};
  for (const language of languages) {
    const users = readUsers(join(dir, language, `memory_bank_${language}.json`));
    const questions = readQuestions(join(dir, language, `probing_questions_${language}.jsonl`), users);
    result[language] = { users, probes: joinLabels(questions, users, labels[language], `${labelsPath}: ${language}`) };
  }
  return { cn: result.cn!, en: result.en! };
}

// ---- the data files ----

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`${file}: cannot be read`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON`, { cause: error });
  }
}

function stringRecord(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new InputError(`${where}: expected an object of strings`);
  const entries = Object.entries(value);
  if (entries.length === 0) return undefined;
  for (const [key, text] of entries) {
    if (typeof text !== 'string') throw new InputError(`${where}.${key}: expected a string`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

const datePattern = /^\d{4}-\d{2}-\d{2}$/;

function readUsers(file: string): MemoryBankUser[] {
  const root = readJson(file);
  if (!isObject(root)) throw new InputError(`${file}: expected an object keyed by user`);
  const users: MemoryBankUser[] = [];
  const seen = new Set<string>();
  for (const [rawKey, value] of Object.entries(root)) {
    const user = rawKey.trim();
    const where = `${file}: user "${user}"`;
    if (seen.has(user)) throw new InputError(`${where}: appears twice once keys are trimmed`);
    seen.add(user);
    if (!isObject(value)) throw new InputError(`${where}: expected an object`);
    if (typeof value.name !== 'string') throw new InputError(`${where}: field "name": expected a string`);
    if (!isObject(value.history)) throw new InputError(`${where}: field "history": expected an object keyed by date`);
    const days: MemoryBankDay[] = [];
    for (const [date, list] of Object.entries(value.history)) {
      if (!datePattern.test(date)) throw new InputError(`${where}: history date "${date}": expected YYYY-MM-DD`);
      if (!Array.isArray(list)) throw new InputError(`${where}: history "${date}": expected a list of turns`);
      const turns = list.map((turn: unknown, index): MemoryBankTurn => {
        if (!isObject(turn) || typeof turn.query !== 'string' || typeof turn.response !== 'string') {
          throw new InputError(`${where}: history "${date}" turn ${index}: expected {query, response} strings`);
        }
        return { query: turn.query, response: turn.response };
      });
      days.push({ date, turns });
    }
    days.sort((a, b) => a.date.localeCompare(b.date));
    const entry: MemoryBankUser = { user, name: value.name, days };
    const summary = stringRecord(value.summary, `${where}: field "summary"`);
    const personality = stringRecord(value.personality, `${where}: field "personality"`);
    const meta = stringRecord(value.meta_information, `${where}: field "meta_information"`);
    if (summary) entry.summary = summary;
    if (personality) entry.personality = personality;
    if (typeof value.overall_history === 'string' && value.overall_history.trim() !== '') entry.overallHistory = value.overall_history;
    if (meta) entry.meta = meta;
    users.push(entry);
  }
  return users;
}

interface Question {
  user: string;
  index: number;
  question: string;
}

function readQuestions(file: string, users: readonly MemoryBankUser[]): Question[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`${file}: cannot be read`, { cause: error });
  }
  const known = new Set(users.map((entry) => entry.user));
  const questions: Question[] = [];
  text.split('\n').forEach((line, lineIndex) => {
    if (line.trim() === '') return;
    const where = `${file}: line ${lineIndex + 1}`;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new InputError(`${where}: not valid JSON`, { cause: error });
    }
    if (!isObject(record)) throw new InputError(`${where}: expected {user: [question, ...]}`);
    for (const [rawKey, list] of Object.entries(record)) {
      const user = rawKey.trim();
      if (!known.has(user)) throw new InputError(`${where}: user "${user}" is not in the memory bank`);
      if (!Array.isArray(list)) throw new InputError(`${where}: user "${user}": expected a list of questions`);
      list.forEach((question: unknown, index) => {
        if (typeof question !== 'string') throw new InputError(`${where}: user "${user}" question ${index}: expected a string`);
        questions.push({ user, index, question });
      });
    }
  });
  return questions;
}

// ---- the labels ----

interface Label {
  user: string;
  question: number;
  evidence: MemoryBankEvidence[];
  note?: string;
}

function readLabels(file: string): Record<MemoryBankLanguage, Label[]> {
  const root = readJson(file);
  if (!isObject(root)) throw new InputError(`${file}: expected an object`);
  const result: Partial<Record<MemoryBankLanguage, Label[]>> = {};
  for (const language of languages) {
    const list = root[language];
    if (!Array.isArray(list)) throw new InputError(`${file}: field "${language}": expected a list of labels`);
    result[language] = list.map((value: unknown, position): Label => {
      const where = `${file}: ${language}[${position}]`;
      if (!isObject(value)) throw new InputError(`${where}: expected an object`);
      const { user, question, evidence, note } = value;
      if (typeof user !== 'string') throw new InputError(`${where}: field "user": expected a string`);
      if (!Number.isInteger(question) || (question as number) < 0) throw new InputError(`${where}: field "question": expected an index`);
      if (!Array.isArray(evidence)) throw new InputError(`${where}: field "evidence": expected a list`);
      if (note !== undefined && typeof note !== 'string') throw new InputError(`${where}: field "note": expected a string`);
      const turns = evidence.map((item: unknown, index): MemoryBankEvidence => {
        if (!isObject(item) || typeof item.date !== 'string' || !Number.isInteger(item.turn) || (item.turn as number) < 0) {
          throw new InputError(`${where}: evidence[${index}]: expected {date, turn}`);
        }
        return { date: item.date, turn: item.turn as number };
      });
      const label: Label = { user, question: question as number, evidence: turns };
      if (note !== undefined) label.note = note;
      return label;
    });
  }
  return { cn: result.cn!, en: result.en! };
}

function joinLabels(questions: readonly Question[], users: readonly MemoryBankUser[], labels: readonly Label[], where: string): MemoryBankProbe[] {
  const byUser = new Map(users.map((entry) => [entry.user, entry]));
  const questionKeys = new Set(questions.map((question) => `${question.user}\u0000${question.index}`));
  const byKey = new Map<string, Label>();
  for (const label of labels) {
    const key = `${label.user}\u0000${label.question}`;
    const name = `user "${label.user}" question ${label.question}`;
    if (!questionKeys.has(key)) throw new InputError(`${where}: ${name}: no such question in the data`);
    if (byKey.has(key)) throw new InputError(`${where}: ${name}: labelled twice`);
    const user = byUser.get(label.user);
    for (const evidence of label.evidence) {
      const day = user?.days.find((entry) => entry.date === evidence.date);
      if (!day) throw new InputError(`${where}: ${name}: evidence date ${evidence.date} is not in that user's history`);
      if (evidence.turn >= day.turns.length) {
        throw new InputError(`${where}: ${name}: evidence ${evidence.date} turn ${evidence.turn} is out of range (${day.turns.length} turns)`);
      }
    }
    byKey.set(key, label);
  }
  return questions.map((question) => {
    const label = byKey.get(`${question.user}\u0000${question.index}`);
    if (!label) throw new InputError(`${where}: user "${question.user}" question ${question.index} has no label`);
    const probe: MemoryBankProbe = { ...question, evidence: label.evidence };
    if (label.note !== undefined) probe.note = label.note;
    return probe;
  });
}
