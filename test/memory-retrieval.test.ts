import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HistoryLine } from '../src/core/turn.js';
import type { CharacterTurn as Turn } from '../src/engine/engine.js';
import { createMemoriesProvider } from '../src/engine/providers/memories-provider.js';
import { createPortraitProvider } from '../src/engine/providers/portrait-provider.js';
import { createTurnArchiver } from '../src/engine/turn-archiver.js';
import type { Memory, MemoryScopeKey } from '../src/memory/memory.js';
import { VectorTable } from '../src/store/vector-table.js';
import { makeCharacter } from './helpers/character.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';

let fixture: MemoryFixture;
let memory: Memory;
let aki: MemoryScopeKey;
const character = makeCharacter({ id: 'juniper', name: 'June' });
// noon in Shanghai (the fixture's timezone)
const at = (month: number, day: number, hour = 12) => Date.UTC(2024, month - 1, day, hour - 8);

beforeEach(async () => {
  fixture = openMemoryFixture();
  memory = fixture.memory(createTestEmbedder());
  await memory.ensureEmbeddingSpace();
  aki = { userId: fixture.user('aki'), characterId: 'juniper', guildId: 'g1' };
});
afterEach(() => fixture.close());

function turnFor(scope: MemoryScopeKey, text: string, options: { at?: number; messageId?: number; history?: HistoryLine[] } = {}): Turn {
  return {
    message: {
      platform: 'discord', guildId: scope.guildId, channelId: 'c1', messageId: 'p1',
      author: { id: 'id-aki', displayName: 'Aki' }, text,
      addressing: { mentioned: true, repliedToBot: false, direct: false }, replyTo: null,
      timestamp: new Date(options.at ?? at(5, 20)),
    },
    character, userId: scope.userId, conversationId: 1, messageId: options.messageId ?? 9999,
    history: options.history ?? [], locale: 'en-US',
  };
}

const contents = (result: Awaited<ReturnType<Memory['search']>>) => result.memories.map((item) => item.record.content);

describe('hybrid retrieval', () => {
  it('finds a Chinese two-character name and an English paraphrase', async () => {
    await memory.rememberMany([
      { scope: aki, kind: 'fact', content: '我的猫叫团子，是一只橘猫', occurredAt: at(5, 1) },
      { scope: aki, kind: 'turn', content: 'Aki: I adopted a kitten and named her Mochi\nJune: What a lovely name!', occurredAt: at(5, 3) },
      { scope: aki, kind: 'event', content: 'Aki went hiking on Mount Tai with friends', occurredAt: at(5, 4) },
      { scope: aki, kind: 'turn', content: 'Aki: 今天下雨了\nJune: 记得带伞', occurredAt: at(5, 5) },
    ]);
    expect(contents(await memory.search(aki, '团子'))[0]).toBe('我的猫叫团子，是一只橘猫');
    expect(contents(await memory.search(aki, '团子最近好吗？'))[0]).toBe('我的猫叫团子，是一只橘猫');
    expect(contents(await memory.search(aki, "what was my kitten's name again?"))[0]).toContain('named her Mochi');
    expect(contents(await memory.search(aki, 'do you remember the mountains I hiked?'))[0]).toContain('hiking on Mount Tai');
    const ranked = (await memory.search(aki, '团子')).memories[0]!;
    expect(ranked.textRank).toBe(1);
    expect(ranked.relevance).toBeGreaterThan(0);
    expect(ranked.retention).toBeGreaterThan(0);
    expect(ranked.retention).toBeLessThan(1);
  });

  it('answers date questions in both languages from that day, and falls back when the day is empty', async () => {
    await memory.rememberMany([
      { scope: aki, kind: 'turn', content: 'Aki: I finally finished my thesis draft\nJune: Congratulations!', occurredAt: at(5, 2, 21) },
      { scope: aki, kind: 'turn', content: 'Aki: my thesis advisor hated the draft\nJune: Oh no.', occurredAt: at(5, 10) },
      { scope: aki, kind: 'turn', content: 'Aki: 我们去吃了火锅\nJune: 好吃吗？', occurredAt: at(5, 19, 20) },
      { scope: aki, kind: 'turn', content: 'Aki: 买了一本新书\nJune: 什么书？', occurredAt: at(5, 18) },
    ]);
    const now = at(5, 20);
    const may2 = await memory.search(aki, 'What did I tell you on May 2nd?', { now });
    expect(may2.narrowedToRange).toBe(true);
    expect(contents(may2)).toEqual(['Aki: I finally finished my thesis draft\nJune: Congratulations!']);
    expect(contents(await memory.search(aki, '5月2日我说了什么', { now }))).toEqual([contents(may2)[0]]);
    expect(contents(await memory.search(aki, '五月二号', { now }))).toEqual([contents(may2)[0]]);
    expect(contents(await memory.search(aki, '昨天我们干嘛了', { now }))).toEqual(['Aki: 我们去吃了火锅\nJune: 好吃吗？']);
    expect(contents(await memory.search(aki, 'what happened the day before yesterday?', { now }))).toEqual(['Aki: 买了一本新书\nJune: 什么书？']);
    expect(contents(await memory.search(aki, '上周我说了什么', { now })).sort()).toEqual([
      'Aki: 买了一本新书\nJune: 什么书？',
      'Aki: 我们去吃了火锅\nJune: 好吃吗？',
    ]);
    const empty = await memory.search(aki, 'what did I say about my thesis on April 1st?', { now });
    expect(empty.dateRange).toMatchObject({ from: '2024-04-01', to: '2024-04-01' });
    expect(empty.narrowedToRange).toBe(false);
    expect(contents(empty)).toHaveLength(2);
    expect(contents(empty).every((text) => text.includes('thesis'))).toBe(true);
  });

  it('damps old memories by the forgetting curve and lets recall slow it down', async () => {
    const old = await memory.remember({ scope: aki, kind: 'turn', content: 'Aki: I love strawberry cake', occurredAt: at(3, 1) });
    const recent = await memory.remember({ scope: aki, kind: 'turn', content: 'Aki: I love strawberry cake so much', occurredAt: at(5, 19) });
    const result = await memory.search(aki, 'strawberry cake', { now: at(5, 20) });
    const byId = new Map(result.memories.map((item) => [item.record.id, item]));
    expect(byId.get(recent.id)!.retention).toBeGreaterThan(byId.get(old.id)!.retention);
    expect(result.memories[0]!.record.id).toBe(recent.id);
    // damped, not zeroed: the old one is still found, with at least the floor share of its relevance
    expect(byId.get(old.id)!.score).toBeGreaterThan(0.5 * byId.get(old.id)!.relevance);
  });

  it('never returns superseded, forgotten, portrait or self-concept rows; superseding keeps the old row', async () => {
    const first = await memory.remember({ scope: aki, kind: 'fact', content: 'Aki lives in Osaka', occurredAt: at(4, 1), sourceMessageIds: [5] });
    const second = await memory.supersede(first.id, { content: 'Aki moved from Osaka to Kyoto', occurredAt: at(5, 1) });
    await memory.remember({ scope: aki, kind: 'portrait', content: 'Aki lives in Kyoto, likes quiet talk', occurredAt: at(5, 1) });
    await memory.remember({ scope: aki, kind: 'self_concept', content: 'June is Aki’s pen pal from Osaka days', occurredAt: at(5, 1) });
    expect(contents(await memory.search(aki, 'where does Aki live, Osaka or Kyoto?'))).toEqual(['Aki moved from Osaka to Kyoto']);
    const all = memory.listForUser(aki, { includeSuperseded: true, kinds: ['fact'] });
    expect(all.map((record) => [record.id, record.supersededBy])).toEqual([[second.id, null], [first.id, second.id]]);
    expect(all[1]).toMatchObject({ content: 'Aki lives in Osaka', sourceMessageIds: [5] });
    expect(second.sourceMessageIds).toEqual([5]);
    await expect(memory.supersede(first.id, { content: 'again' })).rejects.toThrow(/already superseded by memory/);

    expect(memory.setForgotten([second.id], at(5, 20))).toBe(1);
    expect(contents(await memory.search(aki, 'Kyoto'))).toEqual([]);
    memory.setForgotten([second.id], null);
    expect(contents(await memory.search(aki, 'Kyoto'))).toEqual(['Aki moved from Osaka to Kyoto']);
  });

  it('skips the current message, turns already in the history, and near-duplicates', async () => {
    await memory.rememberMany([
      { scope: aki, kind: 'turn', content: 'Aki: my sister Hana visits in June\nJune: How nice!', occurredAt: at(5, 19), sourceMessageIds: [10, 11] },
      { scope: aki, kind: 'turn', content: 'Aki: Hana is my sister\nJune: I see.', occurredAt: at(5, 1), sourceMessageIds: [3, 4] },
      { scope: aki, kind: 'fact', content: 'Aki’s sister is called Hana.', occurredAt: at(5, 2) },
      { scope: aki, kind: 'fact', content: 'Aki’s sister is called Hana!', occurredAt: at(5, 3) },
      { scope: aki, kind: 'fact', content: 'Hana plays the violin', occurredAt: at(5, 3), sourceMessageIds: [77] },
    ]);
    const history: HistoryLine[] = [
      { role: 'user', speakerName: 'Aki', content: 'my sister Hana visits in June', tokenCount: 8 },
      { role: 'assistant', speakerName: 'June', content: 'How nice!', tokenCount: 3 },
    ];
    const found = contents(await memory.search(aki, 'tell me about Hana', { history, excludeMessageIds: [77] }));
    expect(found).not.toContain('Aki: my sister Hana visits in June\nJune: How nice!');
    expect(found).not.toContain('Hana plays the violin');
    expect(found).toContain('Aki: Hana is my sister\nJune: I see.');
    expect(found.filter((text) => text.startsWith('Aki’s sister is called Hana'))).toHaveLength(1);
  });

  it('cuts oversized memories instead of failing, and refuses empty or bad input by name', async () => {
    const small = fixture.memory(createTestEmbedder(), { maxMemoryChars: 20 });
    const record = await small.remember({ scope: aki, kind: 'event', content: '团子'.repeat(50), occurredAt: at(5, 1) });
    expect(Array.from(record.content)).toHaveLength(20);
    expect(record.content.endsWith('…')).toBe(true);
    await expect(memory.remember({ scope: aki, kind: 'fact', content: '   ', occurredAt: at(5, 1) })).rejects.toThrow(/content is empty/);
    await expect(memory.remember({ scope: aki, kind: 'fact', content: 'x', occurredAt: at(5, 1), importance: 3 })).rejects.toThrow(/importance/);
    await expect(memory.remember({ scope: aki, kind: 'gossip' as never, content: 'x', occurredAt: at(5, 1) })).rejects.toThrow(/unknown kind "gossip"/);
  });
});

describe('context providers and the archive listener', () => {
  it('strengthens exactly the memories that made it into the prompt', async () => {
    const records = await memory.rememberMany([
      { scope: aki, kind: 'fact', content: 'Aki’s dog is called Pochi', occurredAt: at(5, 1) },
      { scope: aki, kind: 'event', content: 'Aki walked the dog Pochi in the park', occurredAt: at(5, 2) },
      { scope: aki, kind: 'event', content: 'Pochi the dog chewed a shoe', occurredAt: at(5, 3) },
    ]);
    const memories = createMemoriesProvider(memory);
    const turn = turnFor(aki, 'how is my dog Pochi?', { at: at(5, 20) });
    const items = await memories.collect(turn);
    expect(items).toHaveLength(3);
    expect(items.every((item) => /^\[2024-05-0\d\] /.test(item))).toBe(true);
    memories.included!(turn, [0, 2]);
    const kept = [items[0]!, items[2]!].map((item) => item.slice(13));
    for (const record of memory.listForUser(aki)) {
      const wasKept = kept.includes(record.content);
      expect(record).toMatchObject(
        wasKept
          ? { strength: 2, recallCount: 1, lastRecalledAt: at(5, 20) }
          : { strength: 1, recallCount: 0, lastRecalledAt: null },
      );
    }
    expect(records).toHaveLength(3);
  });

  it('archives a turn with its message ids and importance, and does not recall it for its own message', async () => {
    const memories = createMemoriesProvider(memory);
    const portrait = createPortraitProvider(memory);
    const turn = turnFor(aki, 'My cat is called Mochi and she turns 3 on May 30', { at: at(5, 20), messageId: 41 });
    await createTurnArchiver(memory).onTurnComplete(turn, { text: 'Happy early birthday to Mochi!', messageId: 42 });
    // Written at once, searchable by text; its vector follows in the background.
    const [archived] = memory.listForUser(aki);
    const table = fixture.db.prepare(`SELECT table_name AS t FROM embedding_spaces WHERE state = 'active'`).get() as { t: string };
    expect(fixture.counts(table.t)).toEqual({ memories: 1, text: 1, vectors: 0 });
    await memory.idle();
    expect(fixture.counts(table.t)).toEqual({ memories: 1, text: 1, vectors: 1 });
    expect(archived).toMatchObject({
      kind: 'turn', content: 'Aki: My cat is called Mochi and she turns 3 on May 30\nJune: Happy early birthday to Mochi!',
      sourceMessageIds: [41, 42], day: '2024-05-20', occurredAt: at(5, 20),
    });
    expect(archived!.importance).toBeGreaterThan(0.7);
    expect(await memories.collect(turn)).toEqual([]);
    const later = turnFor(aki, 'what is my cat called?', { at: at(5, 21), messageId: 50 });
    expect(await memories.collect(later)).toEqual([`[2024-05-20] ${archived!.content}`]);

    expect(await portrait.collect(later)).toEqual([]);
    const oldPortrait = await memory.remember({ scope: aki, kind: 'portrait', content: 'Aki: a student, shy', occurredAt: at(5, 1) });
    await memory.supersede(oldPortrait.id, { content: 'Aki: a cat-loving student, warm once at ease', occurredAt: at(5, 10) });
    await memory.remember({ scope: aki, kind: 'self_concept', content: 'To Aki, June is a patient listener', occurredAt: at(5, 10) });
    expect(await portrait.collect(later)).toEqual(['Aki: a cat-loving student, warm once at ease', 'To Aki, June is a patient listener']);
  });

  it('forgets a scope entirely — rows, text index and vectors — and cleans up when a user is deleted', async () => {
    const table = fixture.db.prepare(`SELECT table_name AS t FROM embedding_spaces WHERE state = 'active'`).get() as { t: string };
    const bo = { userId: fixture.user('bo'), characterId: 'juniper', guildId: 'g1' };
    await memory.remember({ scope: aki, kind: 'fact', content: 'Aki likes tea', occurredAt: at(5, 1) });
    await memory.remember({ scope: bo, kind: 'fact', content: 'Bo likes coffee', occurredAt: at(5, 1) });
    await memory.remember({ scope: bo, kind: 'fact', content: 'Bo likes tea too', occurredAt: at(5, 1) });
    expect(fixture.counts(table.t)).toEqual({ memories: 3, text: 3, vectors: 3 });
    expect(memory.exportUser(bo.userId).scopes[0]!.memories).toHaveLength(2);
    expect(memory.forgetUser(bo)).toBe(2);
    expect(fixture.counts(table.t)).toEqual({ memories: 1, text: 1, vectors: 1 });
    expect(memory.findScopeId(bo)).toBeNull();
    expect(contents(await memory.search(aki, 'tea'))).toEqual(['Aki likes tea']);
    fixture.db.prepare('DELETE FROM messages').run();
    fixture.db.prepare('DELETE FROM users WHERE id = ?').run(aki.userId);
    expect(fixture.counts(table.t)).toEqual({ memories: 0, text: 0, vectors: 0 });
  });
});

describe('vector shortlist', () => {
  it('asks the store for as many codes as configured, and the search still ranks by the stored vectors', async () => {
    const wide = fixture.memory(createTestEmbedder(), { retrieval: { vectorShortlist: 150 } });
    await wide.rememberMany(
      Array.from({ length: 200 }, (_, index) => ({
        scope: aki, kind: 'event' as const,
        content: index === 123 ? 'Aki taught the parrot 阿福 to whistle' : `an ordinary errand number ${index}`,
        occurredAt: at(5, 1 + (index % 18)),
      })),
    );
    const shortlists: (number | undefined)[] = [];
    const original = VectorTable.prototype.nearest;
    const spy = vi.spyOn(VectorTable.prototype, 'nearest').mockImplementation(function (this: VectorTable, ...args) {
      shortlists.push(args[3]);
      return original.apply(this, args);
    });
    try {
      const found = await wide.search(aki, 'parrot whistle');
      expect(found.memories[0]).toMatchObject({ record: { content: 'Aki taught the parrot 阿福 to whistle' }, vectorRank: 1 });
      await memory.search(aki, 'parrot whistle');
    } finally {
      spy.mockRestore();
    }
    expect(shortlists).toEqual([150, 60]);
  });
});
