/**
 * Fuzz: MemoryBank memory.json files, read and imported. Reading gives people or an InputError; an import that is
 * refused leaves the database exactly as it was (byte for byte), one that succeeds adds what it says.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleChannelId } from '../src/adapters/console/console-chat.js';
import { InputError } from '../src/core/errors.js';
import type { Memory } from '../src/memory/memory.js';
import { importMemoryBank, readMemoryBankFile } from '../src/memory/import/memorybank-import.js';
import type { SqliteDatabase } from '../src/store/db.js';
import { makeCharacter } from './helpers/character.js';
import { attempt, attemptAsync, fileBytes, fuzz, fuzzAsync, jsonText, mutated, mutatedText, nastyKey, nastyString, prose } from './helpers/fuzz.js';
import type { MemoryFixture } from './memory-helpers.js';
import { createTestEmbedder, openMemoryFixture } from './memory-helpers.js';

const character = makeCharacter({ id: 'xiaoman', name: '苏小满' });

const day = fc.oneof(
  { weight: 8, arbitrary: fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2024-12-31T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)) },
  { weight: 1, arbitrary: fc.constantFrom('2023-02-30', '2023-13-01', '2023-4-1', 'yesterday', '', '0000-00-00', '2023-04-27 ') },
);

const person = fc.record(
  {
    name: prose,
    history: fc.dictionary(day, fc.array(fc.record({ query: prose, response: prose }), { maxLength: 3 }), { maxKeys: 3 }),
    summary: fc.dictionary(day, prose, { maxKeys: 2 }),
    personality: fc.dictionary(day, prose, { maxKeys: 2 }),
    overall_history: prose,
    overall_personality: prose,
  },
  { requiredKeys: ['history'] },
);

/** memory.json: users by name (the public file has names with spaces around them). */
const memoryBank = fc.dictionary(fc.oneof({ weight: 4, arbitrary: prose }, { weight: 1, arbitrary: nastyKey }, { weight: 1, arbitrary: nastyString }), person, {
  minKeys: 1,
  maxKeys: 3,
});

const fileContent = fileBytes(mutatedText(mutated(memoryBank).map(jsonText)));

let fileNumber = 0;

/** A hash of the whole database as this connection sees it: equal hashes mean nothing was committed in between. */
function snapshot(db: SqliteDatabase): string {
  return createHash('sha256').update(db.serialize()).digest('hex');
}

describe('fuzz: MemoryBank files', () => {
  let fixture: MemoryFixture;
  let memory: Memory;
  beforeAll(async () => {
    fixture = openMemoryFixture('omoide-fuzz-memorybank-');
    memory = fixture.memory(createTestEmbedder());
    await memory.ensureEmbeddingSpace();
  });
  afterAll(() => fixture.close());

  function writeFile(bytes: Buffer): string {
    const file = join(fixture.directory, `memory-${fileNumber++}.json`);
    writeFileSync(file, bytes);
    return file;
  }

  it('reads a memory.json into people or refuses it with an InputError', () => {
    fuzz(
      'MemoryBank file',
      fileContent,
      (bytes) =>
        attempt(
          () => readMemoryBankFile(writeFile(bytes)),
          [InputError],
          (people) => {
            for (const one of people) {
              expect(one.name).toBe(one.name.trim());
              expect(one.name).not.toBe('');
              for (const turn of one.dialogue) expect(turn.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
            }
          },
        ),
      { numRuns: 300 },
    );
  });

  it('imports a file whole, or refuses it and leaves the database as it was', async () => {
    await fuzzAsync(
      'MemoryBank import',
      fc.record({ bytes: fileContent, timeZone: fc.constantFrom('UTC', 'Asia/Shanghai', 'Pacific/Kiritimati', 'America/Los_Angeles') }),
      async ({ bytes, timeZone }) => {
        const file = writeFile(bytes);
        const before = snapshot(fixture.db);
        const outcome = await attemptAsync(
          () =>
            importMemoryBank({
              db: fixture.db,
              store: fixture.conversations,
              memory,
              character,
              file,
              timeZone,
              platform: 'console',
              guildId: null,
              channelId: consoleChannelId,
            }),
          [InputError],
          (result) => {
            const people = readMemoryBankFile(file);
            const dialogue = people.reduce((sum, one) => sum + one.dialogue.length, 0);
            expect(result.people).toBe(people.length);
            expect(result.dialogueImported + result.dialogueSkipped).toBe(dialogue);
          },
        );
        if (outcome === 'refused') expect(snapshot(fixture.db)).toBe(before);
        return outcome;
      },
      { numRuns: 80 },
    );
  });
});
