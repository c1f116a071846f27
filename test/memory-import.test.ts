/**
 * MemoryBank import: the file's people become terminal users with dated dialogue and memories, all in one
 * transaction, idempotent; a malformed file names its first bad record and changes nothing. The CLI test kills an
 * import with SIGKILL and checks that the database holds all of it or none of it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consoleChannelId } from '../src/adapters/console/console-chat.js';
import { InputError } from '../src/core/errors.js';
import { importMemoryBank } from '../src/memory/import/memorybank-import.js';
import { openDatabase } from '../src/store/db.js';
import { makeCharacter } from './helpers/character.js';
import type { MemoryFixture } from './memory-helpers.js';
import { createTestEmbedder, openMemoryFixture } from './memory-helpers.js';

const root = resolve(__dirname, '..');
const character = makeCharacter({ id: 'xiaoman', name: '苏小满' });

function memoryBankFile(directory: string, content: unknown, name = 'memory.json'): string {
  const path = join(directory, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const sample = {
  ' 张曼婷 ': {
    name: '张曼婷',
    history: {
      '2023-04-28': [{ query: '我昨天去看了樱花', response: '樱花一定很美吧！' }],
      '2023-04-27': [
        { query: '我家的猫叫团子', response: '团子这个名字好可爱！' },
        { query: '它最喜欢吃小鱼干', response: '小鱼干是猫咪的最爱呢。' },
      ],
    },
    summary: { '2023-04-27': '张曼婷介绍了她的猫团子。' },
    personality: { '2023-04-27': '热情，喜欢小动物。' },
    overall_history: '',
  },
  Emily: {
    name: 'Emily',
    history: { '2023-04-27': [{ query: 'I am training for a marathon in June', response: 'That is a big goal!' }] },
    summary: {},
    personality: {},
    overall_history: '',
  },
};

describe('importMemoryBank', () => {
  let fixture: MemoryFixture;
  beforeEach(() => {
    fixture = openMemoryFixture('omoide-import-');
  });
  afterEach(() => fixture.close());

  async function runImport(file: string) {
    const memory = fixture.memory(createTestEmbedder());
    await memory.ensureEmbeddingSpace();
    const result = await importMemoryBank({
      db: fixture.db,
      store: fixture.conversations,
      memory,
      character,
      file,
      timeZone: 'Asia/Shanghai',
      platform: 'console',
      guildId: null,
      channelId: consoleChannelId,
    });
    return { memory, result };
  }

  it('imports each person as a terminal user with dated dialogue, summaries and a portrait', async () => {
    const { memory, result } = await runImport(memoryBankFile(fixture.directory, sample));
    expect(result).toEqual({ people: 2, dialogueImported: 4, dialogueSkipped: 0, summariesImported: 1, portraitsImported: 1 });

    // The trimmed key is the person: `omoide chat --user 张曼婷` finds them.
    const userId = fixture.conversations.findUserId('console', '张曼婷');
    expect(userId).not.toBeNull();
    expect(fixture.conversations.findUserId('console', ' 张曼婷 ')).toBeNull();

    const scope = { userId: userId!, characterId: 'xiaoman', guildId: null };
    const records = memory.listForUser(scope);
    expect(records.filter((record) => record.kind === 'turn').map((record) => record.day).sort()).toEqual(['2023-04-27', '2023-04-27', '2023-04-28']);
    expect(records.find((record) => record.kind === 'portrait')?.content).toBe('热情，喜欢小动物。');
    expect(records.find((record) => record.kind === 'daily_summary')?.day).toBe('2023-04-27');
    const turn = records.find((record) => record.content.includes('团子这个名字'))!;
    expect(turn.content).toBe('张曼婷: 我家的猫叫团子\n苏小满: 团子这个名字好可爱！');
    expect(turn.sourceMessageIds).toHaveLength(2);

    // The dialogue is the person's private conversation, in order, on its days (Shanghai time).
    const messages = fixture.db
      .prepare(`SELECT m.role, m.content, m.created_at FROM messages m JOIN conversations c ON c.id = m.conversation_id
                WHERE c.platform = 'console' AND c.channel_id = ? ORDER BY m.created_at, m.id`)
      .all(consoleChannelId('张曼婷')) as { role: string; content: string; created_at: number }[];
    expect(messages.map((message) => message.content)).toEqual([
      '我家的猫叫团子', '团子这个名字好可爱！', '它最喜欢吃小鱼干', '小鱼干是猫咪的最爱呢。', '我昨天去看了樱花', '樱花一定很美吧！',
    ]);
    expect(new Date(messages[0]!.created_at).toISOString()).toBe('2023-04-27T04:00:00.000Z');

    const found = await memory.search(scope, '团子喜欢吃什么', { now: Date.UTC(2023, 4, 1) });
    expect(found.memories.slice(0, 3).map((item) => item.record.content).join('\n')).toContain('小鱼干');
    // Emily's memories are hers alone.
    const emily = { userId: fixture.conversations.findUserId('console', 'Emily')!, characterId: 'xiaoman', guildId: null };
    expect((await memory.search(emily, '团子', { now: Date.UTC(2023, 4, 1) })).memories.every((item) => !item.record.content.includes('团子'))).toBe(true);
  });

  it('imports again without duplicating anything, and adds only what is new', async () => {
    const file = memoryBankFile(fixture.directory, sample);
    await runImport(file);
    const before = fixture.counts();
    const again = await runImport(file);
    expect(again.result).toMatchObject({ dialogueImported: 0, dialogueSkipped: 4, summariesImported: 0, portraitsImported: 0 });
    expect(fixture.counts()).toEqual(before);

    const grown = structuredClone(sample) as typeof sample & Record<string, unknown>;
    grown.Emily.history['2023-04-28' as '2023-04-27'] = [{ query: 'My knee hurts after running', response: 'Rest it well.' }];
    const third = await runImport(memoryBankFile(fixture.directory, grown, 'grown.json'));
    expect(third.result).toMatchObject({ dialogueImported: 1, dialogueSkipped: 4 });
    expect(fixture.counts().memories).toBe(before.memories + 1);
  });

  it.each([
    ['invalid JSON', '{"a": ', /memory\.json: invalid JSON/],
    ['a list at the top', '[]', /expected an object of users/],
    ['history missing', { Bob: { name: 'Bob' } }, /user "Bob": "history" must be an object/],
    ['a bad day', { Bob: { history: { '2023-02-30': [] } } }, /history day "2023-02-30" is not a date/],
    ['a query that is not text', { Bob: { history: { '2023-04-27': [{ query: 'hi', response: 'yo' }, { query: 3, response: 'x' }] } } }, /user "Bob", 2023-04-27, entry 2: "query" must be non-empty text/],
    ['two keys for one person', { Bob: { history: {} }, ' Bob': { history: {} } }, /user "Bob" appears twice/],
  ])('refuses %s, naming the record, and writes nothing', async (_label, content, message) => {
    const valid = { Alice: { history: { '2023-04-27': [{ query: 'hello', response: 'hi' }] } } };
    const bad = typeof content === 'string' ? content : { ...valid, ...(content as object) };
    const before = fixture.counts();
    const users = (fixture.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
    await expect(runImport(memoryBankFile(fixture.directory, bad))).rejects.toThrow(message);
    await expect(runImport(memoryBankFile(fixture.directory, bad))).rejects.toBeInstanceOf(InputError);
    expect(fixture.counts()).toEqual(before);
    expect((fixture.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n).toBe(users);
  });

  it('refuses a file that is not UTF-8', async () => {
    const path = join(fixture.directory, 'latin1.json');
    writeFileSync(path, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    await expect(runImport(path)).rejects.toThrow(/latin1\.json: the file is not UTF-8 text/);
  });

  it('writes nothing when the embedder fails half-way', async () => {
    const failing = createTestEmbedder();
    let calls = 0;
    const memory = fixture.memory({
      id: failing.id,
      dimension: failing.dimension,
      async embed(texts, options) {
        if (++calls > 1) throw new Error('embedding server went away');
        return failing.embed(texts, options);
      },
    }, { reembedBatchSize: 2 });
    await memory.ensureEmbeddingSpace();
    const before = fixture.counts();
    await expect(
      importMemoryBank({
        db: fixture.db, store: fixture.conversations, memory, character, file: memoryBankFile(fixture.directory, sample),
        timeZone: 'UTC', platform: 'console', guildId: null, channelId: consoleChannelId,
      }),
    ).rejects.toThrow(/went away/);
    expect(fixture.counts()).toEqual(before);
    expect(fixture.conversations.findUserId('console', 'Emily')).toBeNull();
  });
});

describe('omoide memory import (CLI)', () => {
  let directory: string;
  // The CLI runs from dist/, which vitest's global setup keeps up to date.
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'omoide-import-cli-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  const env = () => ({ ...process.env, OMOIDE_DATA_DIR: join(directory, 'data'), OMOIDE_LOG_LEVEL: 'error', OMOIDE_CONFIG: '' });
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin', 'omoide.js'), ...args], { encoding: 'utf8', env: env(), cwd: directory });

  /** 40 people × 10 days × 15 turns: long enough that a kill lands mid-import. */
  function bigFile(): string {
    const people: Record<string, unknown> = {};
    for (let person = 0; person < 40; person++) {
      const history: Record<string, unknown> = {};
      for (let day = 1; day <= 10; day++) {
        history[`2023-05-${String(day).padStart(2, '0')}`] = Array.from({ length: 15 }, (_, turn) => ({
          query: `person ${person} day ${day} turn ${turn}: today I practised the violin and walked the dog by the river`,
          response: `That sounds lovely, tell me more about turn ${turn}.`,
        }));
      }
      people[`user${person}`] = { name: `user${person}`, history };
    }
    return memoryBankFile(directory, people, 'big.json');
  }

  function countRows(): { messages: number; memories: number } {
    const db = openDatabase(join(directory, 'data', 'omoide.db'));
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      return { messages: count('SELECT count(*) AS n FROM messages'), memories: count('SELECT count(*) AS n FROM memories') };
    } finally {
      db.close();
    }
  }

  it('imports, reports, exports one person, and repeats safely', () => {
    const file = memoryBankFile(directory, sample);
    const first = cli(['memory', 'import', file, '--character', 'xiaoman']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('imported 2 people for xiaoman: 4 dialogue turns, 1 summaries, 1 portraits');
    const second = cli(['memory', 'import', file, '--format', 'memorybank', '--character', 'xiaoman']);
    expect(second.stdout).toContain('0 dialogue turns (4 already there)');

    const exported = cli(['memory', 'export', '--user', '张曼婷', '--character', 'xiaoman']);
    expect(exported.status, exported.stderr).toBe(0);
    const json = JSON.parse(exported.stdout) as { user: string; scopes: { characterId: string; memories: { content: string }[] }[] };
    expect(json.user).toBe('张曼婷');
    expect(json.scopes).toHaveLength(1);
    expect(json.scopes[0]!.memories.map((memory) => memory.content).join('\n')).toContain('团子');
    expect(JSON.stringify(json)).not.toContain('marathon');

    expect(cli(['memory', 'export', '--user', 'nobody']).stderr).toContain('no console user "nobody"');
    expect(cli(['memory', 'import', file, '--character', 'nobody']).stderr).toMatch(/unknown character "nobody"/);
  });

  it('leaves all or nothing when killed with SIGKILL mid-import, and a rerun completes it without duplicates', async () => {
    const file = bigFile();
    const total = 40 * 10 * 15;
    // Killed right as the write begins, and a little into it: the database holds all of the import or none of it.
    for (const delayMs of [0, 30, 120, 400]) {
      const child = spawn(process.execPath, [join(root, 'bin', 'omoide.js'), 'memory', 'import', file, '--character', 'juniper'], {
        env: { ...env(), OMOIDE_LOG_LEVEL: 'info' },
        cwd: directory,
      });
      let stderr = '';
      await new Promise<void>((writing, failed) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('writing the import in one transaction')) writing();
        });
        child.once('exit', () => failed(new Error(`the import ended before writing: ${stderr}`)));
      }).catch((error: unknown) => {
        // a fast machine may finish a later (already partial) attempt; only the first must reach the write
        if (delayMs === 0) throw error;
      });
      await new Promise((done) => setTimeout(done, delayMs));
      child.kill('SIGKILL');
      await new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done(null) : child.once('exit', done)));
      const counts = countRows();
      expect([0, total * 2]).toContain(counts.messages);
      expect([0, total]).toContain(counts.memories);
    }
    const rerun = cli(['memory', 'import', file, '--character', 'juniper']);
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(countRows()).toEqual({ messages: total * 2, memories: total });
  }, 60_000);
});
