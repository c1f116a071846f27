import { afterEach, describe, expect, it } from 'vitest';
import { createPortraitProvider } from '../src/engine/providers/portrait-provider.js';
import { consolidationSettingsSchema } from '../src/consolidation/settings.js';
import type { MemoryScopeKey } from '../src/memory/memory.js';
import {
  dayMs, dialogueOf, hourMs, openConsolidationFixture, promptKind, structuredReply, type ConsolidationFixture,
} from './consolidation-helpers.js';

// 10:00 in Shanghai (the memory timezone) on 2024-05-21
const day1 = Date.UTC(2024, 4, 21, 2);

let fixture: ConsolidationFixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

const scopeOf = (userId: number, characterId = 'juniper'): MemoryScopeKey => ({ userId, characterId, guildId: null });

describe('consolidation over days of history', () => {
  it('waits for a session to close, then writes summary, events, facts, portrait and self-concept once', async () => {
    fixture = await openConsolidationFixture();
    const { base, memory } = fixture;
    const alice = await fixture.say('Alice', 'I live in Tokyo and I love strawberry cake', 'Tokyo is lovely!', day1);
    await fixture.say('Alice', 'My cat is called Mochi', 'What a sweet name.', day1 + 10 * 60_000);
    const consolidator = fixture.consolidator();

    // Two hours later the session is still open: nothing but the forgetting pass.
    base.clock.set(day1 + 2 * hourMs);
    const early = await consolidator.runDue();
    expect(memory.listForUser(scopeOf(alice), { kinds: ['daily_summary', 'portrait', 'self_concept'] })).toHaveLength(0);
    expect(early.jobs).toBe(1);

    // Seven idle hours later it is closed.
    base.clock.set(day1 + 7 * hourMs);
    const first = await consolidator.runDue();
    expect(first).toEqual({ jobs: 3, done: 3, failed: 0, skipped: 0 });
    const summaries = memory.listForUser(scopeOf(alice), { kinds: ['daily_summary'] });
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.content).toContain('Mochi');
    expect(summaries[0]!.day).toBe('2024-05-21');
    expect(memory.listForUser(scopeOf(alice), { kinds: ['event'] })).toHaveLength(1);
    const [tokyo] = memory.listForUser(scopeOf(alice), { kinds: ['fact'] });
    expect(tokyo!.content).toBe('The user lives in Tokyo');
    expect(memory.listForUser(scopeOf(alice), { kinds: ['portrait'] })[0]!.content).toMatch(/^Portrait v1: Alice: I live in Tokyo/);
    expect(memory.listForUser(scopeOf(alice), { kinds: ['self_concept'] })).toHaveLength(1);

    // The prompts carried the dialogue, in English for an en-US character.
    const calls = fixture.fake.chatRequests();
    expect(calls).toHaveLength(3);
    expect(calls[0]!.body.response_format).toEqual({ type: 'json_object' });
    expect(calls[0]!.body.messages[0].content).toContain('Write in English');

    // A summary is recalled like any memory.
    const recalled = await memory.search(scopeOf(alice), 'What is the name of my cat?', { limit: 5 });
    expect(recalled.memories.map((item) => item.record.kind)).toContain('daily_summary');

    // Running again plans nothing new and writes nothing twice.
    const again = await consolidator.runDue();
    expect(again.jobs).toBe(0);
    expect(fixture.fake.chatRequests()).toHaveLength(3);
    expect(memory.listForUser(scopeOf(alice), { kinds: ['daily_summary'] })).toHaveLength(1);

    // Day 2: she moved. The new fact supersedes the old one, which stays in the archive; the portrait moves on.
    await fixture.say('Alice', 'Big news: I live in Osaka now', 'Congratulations on the move!', day1 + dayMs);
    base.clock.set(day1 + dayMs + 8 * hourMs);
    const second = await consolidator.runDue();
    expect(second).toMatchObject({ done: 4, failed: 0, skipped: 0 }); // 3 session jobs + the new day's forgetting pass
    const facts = memory.listForUser(scopeOf(alice), { kinds: ['fact'] });
    expect(facts.map((fact) => fact.content)).toEqual(['The user lives in Osaka']);
    const archived = memory.listForUser(scopeOf(alice), { kinds: ['fact'], includeSuperseded: true });
    expect(archived).toHaveLength(2);
    expect(archived.find((fact) => fact.id === tokyo!.id)!.supersededBy).toBe(facts[0]!.id);
    const found = await memory.search(scopeOf(alice), 'Where does the user live?', { limit: 10 });
    expect(found.memories.map((item) => item.record.id)).not.toContain(tokyo!.id);

    const portraits = memory.listForUser(scopeOf(alice), { kinds: ['portrait'], includeSuperseded: true });
    expect(portraits).toHaveLength(2);
    expect(portraits.filter((portrait) => portrait.supersededBy === null).map((portrait) => portrait.content)[0]).toMatch(/^Portrait v2:/);
    expect(memory.listForUser(scopeOf(alice), { kinds: ['self_concept'] })).toHaveLength(1);
    expect(memory.listForUser(scopeOf(alice), { kinds: ['daily_summary'] })).toHaveLength(2);

    // The portrait section of later prompts shows the newest portrait and self-concept.
    const portraitProvider = createPortraitProvider(memory);
    const lines = await portraitProvider.collect({
      userId: alice, character: fixture.characters.get('juniper')!, message: { guildId: null },
    } as unknown as Parameters<typeof portraitProvider.collect>[0]);
    expect(lines[0]).toMatch(/^Portrait v2:/);
    expect(lines[1]).toMatch(/^Self-concept:/);
  });

  it('catches up a backlog of several days oldest first, per day, in the character language', async () => {
    const seen: string[] = [];
    fixture = await openConsolidationFixture((call) => {
      seen.push(`${promptKind(call)}:${dialogueOf(call)[0] ?? ''}`);
      return structuredReply(call);
    });
    // Three days of talk with 小满 (zh-CN), never consolidated: the bot was offline.
    let userId = 0;
    for (let day = 0; day < 3; day++) {
      userId = await fixture.say('小明', `第${day + 1}天：今天去爬山了`, '听起来很开心！', day1 + day * dayMs, { characterId: 'xiaoman' });
    }
    fixture.base.clock.set(day1 + 10 * dayMs);
    const result = await fixture.consolidator({ concurrency: 3 }).runDue();
    expect(result).toMatchObject({ jobs: 10, done: 10, failed: 0, skipped: 0 });
    const summaries = fixture.memory.listForUser(scopeOf(userId, 'xiaoman'), { kinds: ['daily_summary'] });
    expect(summaries.map((summary) => summary.day).sort()).toEqual(['2024-05-21', '2024-05-22', '2024-05-23']);
    // One scope runs in order: day 1's jobs before day 2's.
    const summaryOrder = seen.filter((entry) => entry.startsWith('summary')).map((entry) => entry.slice(-12));
    expect(summaryOrder).toEqual([...summaryOrder].sort());
    const prompts = fixture.fake.chatRequests().map((request) => request.body.messages[0].content as string);
    expect(prompts.every((prompt) => /[\u4e00-\u9fff]/.test(prompt) && prompt.includes('小满'))).toBe(true);
  });

  it('retries a malformed answer, gives up on a model that never answers JSON, and keeps going for others', async () => {
    let bobCalls = 0;
    let carolFirst = true;
    fixture = await openConsolidationFixture((call) => {
      const lines = dialogueOf(call);
      if (lines.some((line) => line.startsWith('Bob:'))) {
        bobCalls++;
        return promptKind(call) === 'summary' ? 'Sure! Here is the summary: Bob likes trains.' : structuredReply(call);
      }
      if (carolFirst && promptKind(call) === 'summary') {
        carolFirst = false;
        return '{"summary": ""}'; // valid JSON, wrong shape
      }
      return structuredReply(call);
    });
    const bob = await fixture.say('Bob', 'I like trains', 'Choo choo!', day1);
    const carol = await fixture.say('Carol', 'I paint watercolours', 'Lovely.', day1 + 60_000);
    fixture.base.clock.set(day1 + 7 * hourMs);
    const result = await fixture.consolidator({ maxAttempts: 3 }).runDue();
    expect(result).toMatchObject({ jobs: 8, done: 7, skipped: 1, failed: 0 }); // 2 forgetting passes, Bob's portrait and self-concept, Carol's 3
    expect(bobCalls).toBe(3 + 2);
    expect(fixture.memory.listForUser(scopeOf(bob), { kinds: ['daily_summary', 'event', 'fact'] })).toHaveLength(0);
    const bobSummary = fixture.jobs.jobsOf({ userId: bob, characterId: 'juniper', guildKey: '' }).find((job) => job.kind === 'summary')!;
    expect(bobSummary).toMatchObject({ state: 'skipped', attempts: 3 });
    expect(bobSummary.lastError).toContain('no JSON object');

    // Carol's summary needed a second try, which was told what was wrong.
    const carolSummaries = fixture.memory.listForUser(scopeOf(carol), { kinds: ['daily_summary'] });
    expect(carolSummaries).toHaveLength(1);
    const retry = fixture.fake.chatRequests().find((request) => request.body.messages.length === 4)!;
    expect(retry.body.messages[3].content).toContain('could not be used: the JSON does not fit: summary');
  });

  it('a failing or slow model fails the job for this run; the next run finishes it', async () => {
    fixture = await openConsolidationFixture();
    const dana = await fixture.say('Dana', 'I run marathons', 'Impressive!', day1);
    fixture.base.clock.set(day1 + 7 * hourMs);
    const consolidator = fixture.consolidator({ concurrency: 1 }, { timeoutMs: 1500 });
    // summary: HTTP 500; portrait: slower than the timeout; self-concept: fine.
    fixture.fake.failNext({ status: 500 }, { delayMs: 10_000 });
    const first = await consolidator.runDue();
    expect(first).toMatchObject({ done: 2, failed: 2, skipped: 0 });
    const states = fixture.jobs.jobsOf({ userId: dana, characterId: 'juniper', guildKey: '' }).map((job) => `${job.kind}:${job.state}`);
    expect(states.sort()).toEqual(['forget:done', 'portrait:failed', 'self_concept:done', 'summary:failed']);
    expect(fixture.memory.listForUser(scopeOf(dana), { kinds: ['daily_summary'] })).toHaveLength(0);

    const second = await consolidator.runDue();
    expect(second).toMatchObject({ jobs: 2, done: 2, failed: 0 });
    expect(fixture.memory.listForUser(scopeOf(dana), { kinds: ['daily_summary'] })).toHaveLength(1);
    expect(fixture.memory.listForUser(scopeOf(dana), { kinds: ['portrait'] })).toHaveLength(1);
  });

  it('rolls a long open session up into summaries that supersede each other', async () => {
    fixture = await openConsolidationFixture();
    const consolidator = fixture.consolidator({ rollingSummaryTokens: 200 });
    const long = 'I am telling you a very long story about my grandmother and her garden. '.repeat(3);
    let userId = 0;
    for (let index = 0; index < 8; index++) {
      userId = await fixture.say('Erin', `${index}: ${long}`, 'Go on, I am listening.', day1 + index * 5 * 60_000);
    }
    fixture.base.clock.set(day1 + hourMs); // still open
    await consolidator.runDue();
    const rolling = fixture.jobs.jobsOf({ userId, characterId: 'juniper', guildKey: '' }).filter((job) => job.kind === 'rolling');
    expect(rolling.length).toBeGreaterThanOrEqual(2);
    expect(rolling.every((job) => job.state === 'done')).toBe(true);
    const summaries = fixture.memory.listForUser(scopeOf(userId), { kinds: ['daily_summary'], includeSuperseded: true });
    expect(summaries).toHaveLength(rolling.length);
    expect(summaries.filter((summary) => summary.supersededBy === null)).toHaveLength(1);
    expect(summaries.find((summary) => summary.supersededBy === null)!.content).toContain('(continued)');
  });

  it('marks faded memories forgotten, keeps them in the archive, and lets them be restored', async () => {
    fixture = await openConsolidationFixture();
    const { memory } = fixture;
    const frank = await fixture.say('Frank', 'hello', 'hi', day1);
    const scope = scopeOf(frank);
    const [oldTurn, oldSummary] = await memory.rememberMany([
      { scope, kind: 'turn', content: 'Frank: the weather was grey', occurredAt: day1 - 40 * dayMs },
      { scope, kind: 'daily_summary', content: 'Frank talked about grey weather', occurredAt: day1 - 40 * dayMs },
    ]);
    fixture.base.clock.set(day1 + hourMs);
    await fixture.consolidator({ forgetThreshold: 0.05 }).runDue();
    const visible = memory.listForUser(scope).map((record) => record.id);
    expect(visible).not.toContain(oldTurn!.id); // turn: e^(−40/3) ≈ 0
    expect(visible).toContain(oldSummary!.id); // summary: e^(−40/30) ≈ 0.26
    const archived = memory.listForUser(scope, { includeForgotten: true }).find((record) => record.id === oldTurn!.id)!;
    expect(archived.forgottenAt).toBe(day1 + hourMs);
    expect(memory.setForgotten([oldTurn!.id], null)).toBe(1);
    expect(memory.listForUser(scope).map((record) => record.id)).toContain(oldTurn!.id);
  });

  it('validates settings with defaults', () => {
    const defaults = consolidationSettingsSchema.parse({});
    expect(defaults).toMatchObject({ schedule: '*/15 * * * *', sessionIdleHours: 6, concurrency: 2, forgetThreshold: 0.05, maxAttempts: 3 });
    expect(() => consolidationSettingsSchema.parse({ schedule: 'every day' })).toThrow(/cron expression/);
    expect(() => consolidationSettingsSchema.parse({ concurrency: 0 })).toThrow();
  });
});
