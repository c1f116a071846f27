/**
 * kill -9 in the middle of a run: a child process consolidates the database while the fake model holds one reply;
 * the test kills it with SIGKILL, then runs again here. Nothing may be missing and nothing doubled.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiEmbedder } from '../src/llm/openai/openai-embedder.js';
import type { FakeChatCall } from './fakes/fake-openai-server.js';
import { dayMs, hourMs, openConsolidationFixture, root, structuredReply, type ConsolidationFixture } from './consolidation-helpers.js';

const day1 = Date.UTC(2024, 4, 21, 2);
const dist = (path: string) => pathToFileURL(join(root, 'dist', path)).href;
const embedderSettings = (baseURL: string) => ({
  baseURL, model: 'fake-embedding', dimension: 8, timeoutMs: 5000, maxRetries: 0, retryBaseDelayMs: 10, retryMaxDelayMs: 50,
});

beforeAll(() => {
  // The child runs the compiled consolidator from dist/, which vitest's global setup keeps up to date.
  expect(existsSync(join(root, 'dist', 'src', 'consolidation', 'consolidator.js'))).toBe(true);
});

let fixture: ConsolidationFixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

function childScript(databasePath: string, fakeUrl: string, now: number): string {
  return `
import { CharacterCatalog } from ${JSON.stringify(dist('src/characters/catalog.js'))};
import { createConsolidator } from ${JSON.stringify(dist('src/consolidation/consolidator.js'))};
import { consolidationSettingsSchema } from ${JSON.stringify(dist('src/consolidation/settings.js'))};
import { ManualClock } from ${JSON.stringify(dist('src/core/clock.js'))};
import { createOpenAiChatModel } from ${JSON.stringify(dist('src/llm/openai/openai-chat-model.js'))};
import { createOpenAiEmbedder } from ${JSON.stringify(dist('src/llm/openai/openai-embedder.js'))};
import { createMemory } from ${JSON.stringify(dist('src/memory/memory.js'))};
import { memorySettingsSchema } from ${JSON.stringify(dist('src/memory/settings.js'))};
import { ConversationStore } from ${JSON.stringify(dist('src/store/conversation-store.js'))};
import { openDatabase } from ${JSON.stringify(dist('src/store/db.js'))};

const db = openDatabase(${JSON.stringify(databasePath)});
const clock = new ManualClock(${now});
const memorySettings = memorySettingsSchema.parse({ timezone: 'Asia/Shanghai' });
const embedder = await createOpenAiEmbedder(${JSON.stringify(embedderSettings(fakeUrl))});
const memory = createMemory({ db, embedder, settings: memorySettings, clock });
await memory.ensureEmbeddingSpace();
const characters = new CharacterCatalog(${JSON.stringify(join(root, 'characters'))}, 'juniper');
characters.reload();
const chatModel = createOpenAiChatModel({ baseURL: ${JSON.stringify(fakeUrl)}, model: 'fake-model', timeoutMs: 60000, maxRetries: 0, retryBaseDelayMs: 10, retryMaxDelayMs: 50 });
const consolidator = createConsolidator({
  db, memory, store: new ConversationStore(db), chatModel, characters, clock, memorySettings,
  settings: consolidationSettingsSchema.parse({ concurrency: 2, requestsPerMinute: 0, timezone: 'UTC' }),
});
await consolidator.runDue();
console.log('finished');
`;
}

describe('consolidation after kill -9', () => {
  it('resumes without duplicates and without losing anything', async () => {
    let calls = 0;
    let holdRequest: (() => void) | null = null;
    let releaseHeld: () => void = () => {};
    const held = new Promise<void>((resolve) => (holdRequest = resolve));
    fixture = await openConsolidationFixture(async (call: FakeChatCall) => {
      calls++;
      if (calls === 5) {
        holdRequest!();
        await new Promise<void>((resolve) => (releaseHeld = resolve));
      }
      return structuredReply(call);
    }, (url) => createOpenAiEmbedder(embedderSettings(url)));

    const users: number[] = [];
    for (const [index, name] of ['Ana', 'Ben', 'Cai'].entries()) {
      for (let day = 0; day < 2; day++) {
        const at = day1 + day * dayMs + index * 60_000;
        users[index] = await fixture.say(name, `Day ${day + 1}: I went swimming`, 'Sounds refreshing!', at);
        await fixture.say(name, `Day ${day + 1}: and then I had ramen`, 'Yum.', at + 5 * 60_000);
      }
    }
    const now = day1 + dayMs + 8 * hourMs;
    fixture.base.clock.set(now);
    const script = join(fixture.base.directory, 'child.mjs');
    writeFileSync(script, childScript(fixture.base.path, fixture.fake.url, now));

    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await Promise.race([held, exited]);
    expect(output).not.toContain('finished');
    child.kill('SIGKILL');
    expect(await exited, output).toBe('SIGKILL');

    // The killed process left its jobs running; some finished before the kill, none half-written.
    const before = fixture.jobs.counts();
    expect(before.running).toBeGreaterThanOrEqual(1);
    expect(before.done).toBeGreaterThanOrEqual(3);
    const summariesBefore = (fixture.base.db.prepare(`SELECT count(*) AS n FROM memories WHERE kind = 'daily_summary'`).get() as { n: number }).n;
    const doneSummaryJobs = (fixture.base.db.prepare(`SELECT count(*) AS n FROM consolidation_jobs WHERE kind = 'summary' AND state = 'done'`).get() as { n: number }).n;
    expect(summariesBefore).toBe(doneSummaryJobs);

    releaseHeld();
    const result = await fixture.consolidator().runDue();
    expect(result.failed + result.skipped).toBe(0);
    const after = fixture.jobs.counts();
    // 3 users x 2 days x (summary, portrait, self-concept) + 3 forgetting passes
    expect(after).toEqual({ pending: 0, running: 0, done: 21, failed: 0, skipped: 0 });
    // Every job that finished before the kill was not asked again: only those cut off (the held one, and the other
    // worker's if it was mid-job) may have cost a second request.
    expect(calls).toBeGreaterThanOrEqual(18 + 1);
    expect(calls).toBeLessThanOrEqual(18 + before.running);
    const retried = fixture.base.db.prepare(`SELECT count(*) AS n FROM consolidation_jobs WHERE attempts > 1`).get() as { n: number };
    expect(retried.n).toBeGreaterThanOrEqual(1);
    expect(retried.n).toBeLessThanOrEqual(before.running);

    for (const userId of users) {
      const scope = { userId, characterId: 'juniper', guildId: null };
      const summaries = fixture.memory.listForUser(scope, { kinds: ['daily_summary'], includeSuperseded: true });
      expect(summaries.map((summary) => summary.day).sort()).toEqual(['2024-05-21', '2024-05-22']);
      const portraits = fixture.memory.listForUser(scope, { kinds: ['portrait'], includeSuperseded: true });
      expect(portraits).toHaveLength(2);
      expect(portraits.filter((portrait) => portrait.supersededBy === null)).toHaveLength(1);
      expect(fixture.memory.listForUser(scope, { kinds: ['self_concept'] })).toHaveLength(1);
    }
  }, 60_000);
});
