import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultLabelsPath, defaultMemoryBankDir, loadMemoryBank } from '../bench/memorybank-data.js';
import { InputError } from '../src/core/errors.js';

const sharedDir = defaultMemoryBankDir();
const sharedPresent = existsSync(sharedDir);

interface RawLabel {
  user: string;
  question: number;
  evidence: Array<{ date: string; turn: number }>;
  note?: string;
}

function readRawLabels(): { source: string; labelledBy: string; cn: RawLabel[]; en: RawLabel[] } {
  return JSON.parse(readFileSync(defaultLabelsPath(), 'utf8'));
}

describe('memorybank labels file', () => {
  it('carries indices only, never the data set text', () => {
    const labels = readRawLabels();
    expect(labels.source).toContain('MemoryBank');
    for (const language of ['cn', 'en'] as const) {
      for (const label of labels[language]) {
        expect(Object.keys(label).sort()).toEqual(label.note === undefined ? ['evidence', 'question', 'user'] : ['evidence', 'note', 'question', 'user']);
        for (const evidence of label.evidence) expect(Object.keys(evidence).sort()).toEqual(['date', 'turn']);
        // An empty evidence list must say why.
        if (label.evidence.length === 0) expect(label.note).toBeTruthy();
      }
    }
  });
});

describe.skipIf(!sharedPresent)(`memorybank labels against the shared data (${sharedDir})`, () => {
  const bank = sharedPresent ? loadMemoryBank(sharedDir) : null;

  it('loads both languages with trimmed user keys', () => {
    expect(bank).not.toBeNull();
    for (const language of ['cn', 'en'] as const) {
      const users = bank![language].users;
      expect(users).toHaveLength(15);
      for (const user of users) {
        expect(user.user).toBe(user.user.trim());
        expect(user.days.length).toBeGreaterThan(0);
      }
    }
    expect(bank!.en.users.map((user) => user.user)).toContain('Jason');
  });

  it('labels every question exactly once, and every evidence turn exists', () => {
    const labels = readRawLabels();
    for (const language of ['cn', 'en'] as const) {
      const { users, probes } = bank![language];
      expect(probes).toHaveLength(100);
      expect(labels[language]).toHaveLength(probes.length);
      const keys = new Set(labels[language].map((label) => `${label.user}#${label.question}`));
      expect(keys.size).toBe(labels[language].length);
      for (const probe of probes) {
        expect(keys.has(`${probe.user}#${probe.index}`)).toBe(true);
        const user = users.find((entry) => entry.user === probe.user);
        expect(user, `${language} ${probe.user}`).toBeDefined();
        for (const evidence of probe.evidence) {
          const day = user!.days.find((entry) => entry.date === evidence.date);
          expect(day, `${language} ${probe.user} q${probe.index} ${evidence.date}`).toBeDefined();
          expect(evidence.turn).toBeLessThan(day!.turns.length);
        }
      }
      // Nearly every probing question has an answer in the history.
      expect(probes.filter((probe) => probe.evidence.length === 0).length).toBeLessThanOrEqual(2);
    }
  });

  it('joins the right question to its label (spot checks by content, not by index)', () => {
    const find = (language: 'cn' | 'en', user: string, index: number) =>
      bank![language].probes.find((probe) => probe.user === user && probe.index === index)!;
    const turnText = (language: 'cn' | 'en', user: string, date: string, turn: number) => {
      const day = bank![language].users.find((entry) => entry.user === user)!.days.find((entry) => entry.date === date)!;
      const pair = day.turns[turn]!;
      return `${pair.query}\n${pair.response}`;
    };
    const badminton = find('en', 'Ivy', 4);
    expect(badminton.question.toLowerCase()).toContain('badminton');
    expect(turnText('en', 'Ivy', badminton.evidence[0]!.date, badminton.evidence[0]!.turn).toLowerCase()).toContain('eight');
    const apps = find('cn', '焦彦', 5);
    expect(apps.question).toContain('冥想');
    expect(turnText('cn', '焦彦', apps.evidence[0]!.date, apps.evidence[0]!.turn)).toContain('Headspace');
  });
});

if (!sharedPresent) {
  it.skip(`memorybank shared data absent at ${sharedDir}: label validation skipped`, () => {});
}

describe('loadMemoryBank on a small synthetic folder', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  function makeFolder(labels: unknown): { dir: string; labelsPath: string } {
    const root = mkdtempSync(join(tmpdir(), 'omoide-memorybank-'));
    made.push(root);
    const dir = join(root, 'memorybank');
    for (const language of ['cn', 'en']) {
      mkdirSync(join(dir, language), { recursive: true });
      const bank = {
        ' Ann ': {
          name: 'Ann',
          summary: {},
          personality: {},
          overall_history: '',
          meta_information: { hobbies: 'kites' },
          history: {
            '2023-05-02': [{ query: 'I flew a red kite today.', response: 'Lovely!' }],
            '2023-05-01': [
              { query: 'Hello.', response: 'Hi Ann.' },
              { query: 'My cat is called Miso.', response: 'Cute name.' },
            ],
          },
        },
      };
      writeFileSync(join(dir, language, `memory_bank_${language}.json`), JSON.stringify(bank));
      writeFileSync(join(dir, language, `probing_questions_${language}.jsonl`), `${JSON.stringify({ 'Ann ': ['What is my cat called?', 'What colour was my kite?'] })}\n`);
    }
    const labelsPath = join(root, 'labels.json');
    writeFileSync(labelsPath, JSON.stringify(labels));
    return { dir, labelsPath };
  }

  const goodLabels = (language: string) => [
    { user: 'Ann', question: 0, evidence: [{ date: '2023-05-01', turn: 1 }] },
    { user: 'Ann', question: 1, evidence: [{ date: '2023-05-02', turn: 0 }], note: `${language} note` },
  ];

  it('returns null when the folder is absent', () => {
    expect(loadMemoryBank(join(tmpdir(), 'omoide-no-such-memorybank-folder'))).toBeNull();
  });

  it('trims keys, sorts days and joins labels to questions', () => {
    const { dir, labelsPath } = makeFolder({ cn: goodLabels('cn'), en: goodLabels('en') });
    const bank = loadMemoryBank(dir, { labelsPath })!;
    const user = bank.en.users[0]!;
    expect(user.user).toBe('Ann');
    expect(user.days.map((day) => day.date)).toEqual(['2023-05-01', '2023-05-02']);
    expect(user.summary).toBeUndefined();
    expect(user.overallHistory).toBeUndefined();
    expect(user.meta).toEqual({ hobbies: 'kites' });
    expect(bank.en.probes).toEqual([
      { user: 'Ann', index: 0, question: 'What is my cat called?', evidence: [{ date: '2023-05-01', turn: 1 }] },
      { user: 'Ann', index: 1, question: 'What colour was my kite?', evidence: [{ date: '2023-05-02', turn: 0 }], note: 'en note' },
    ]);
  });

  it('rejects an evidence turn that does not exist, naming the record', () => {
    const bad = [goodLabels('en')[0], { user: 'Ann', question: 1, evidence: [{ date: '2023-05-02', turn: 3 }] }];
    const { dir, labelsPath } = makeFolder({ cn: goodLabels('cn'), en: bad });
    expect(() => loadMemoryBank(dir, { labelsPath })).toThrow(InputError);
    expect(() => loadMemoryBank(dir, { labelsPath })).toThrow(/en: user "Ann" question 1: evidence 2023-05-02 turn 3 is out of range/);
  });

  it('rejects a question left without a label', () => {
    const { dir, labelsPath } = makeFolder({ cn: goodLabels('cn').slice(0, 1), en: goodLabels('en') });
    expect(() => loadMemoryBank(dir, { labelsPath })).toThrow(/cn: user "Ann" question 1 has no label/);
  });

  it('rejects a label for a question that does not exist', () => {
    const extra = [...goodLabels('en'), { user: 'Ann', question: 2, evidence: [] }];
    const { dir, labelsPath } = makeFolder({ cn: goodLabels('cn'), en: extra });
    expect(() => loadMemoryBank(dir, { labelsPath })).toThrow(/user "Ann" question 2: no such question/);
  });
});
