/**
 * Archived turns are written at once and embedded in the background (memory_vector_backlog). The vector must land on
 * the memory it was embedded from, an embedder that is down must cost nothing but time, and one text the embedder
 * refuses must not hold up the others.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Embedder } from '../src/llm/types.js';
import type { Memory } from '../src/memory/memory.js';
import type { MemoryScopeKey } from '../src/memory/scope-keys.js';
import { EmbeddingSpaceStore } from '../src/store/embedding-space-store.js';
import { createTestEmbedder, openMemoryFixture, type MemoryFixture } from './memory-helpers.js';

let fixture: MemoryFixture;
afterEach(() => fixture.close());

/** The test embedder, which can be held at a gate, or made to refuse some texts or everything. */
function controllableEmbedder() {
  const base = createTestEmbedder();
  const control = {
    gate: null as Promise<void> | null,
    refuse: (_text: string) => false,
    down: false,
    calls: 0,
  };
  const embedder: Embedder = {
    id: base.id,
    dimension: base.dimension,
    async embed(texts, options) {
      control.calls++;
      if (control.gate) await control.gate;
      if (control.down) throw new Error('connect ECONNREFUSED 127.0.0.1:11434');
      if (texts.some(control.refuse)) throw new Error('input too long for the model');
      return base.embed(texts, options);
    },
  };
  return { embedder, control, base };
}

function archive(memory: Memory, scope: MemoryScopeKey, text: string, at: number) {
  return memory.archiveTurn({ scope, userName: 'someone', userText: text, characterName: 'June', reply: 'I see.', occurredAt: at, sourceMessageIds: [] });
}

const backlog = () => fixture.db.prepare('SELECT memory_id AS id, attempts FROM memory_vector_backlog ORDER BY memory_id').all() as { id: number; attempts: number }[];

function storedVector(id: number): Float32Array | undefined {
  const spaces = new EmbeddingSpaceStore(fixture.db);
  return spaces.vectors(spaces.activeSpace()!).vectorsOf([id]).get(id);
}

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, index) => sum + value * b[index]!, 0);

describe('the vector backlog', () => {
  it("never gives a memory the vector of an erased one that had its id (SQLite reuses the highest ids)", async () => {
    fixture = openMemoryFixture('omoide-backlog-race-');
    const { embedder, control, base } = controllableEmbedder();
    const memory = fixture.memory(embedder);
    await memory.ensureEmbeddingSpace();
    const alice = { userId: fixture.user('alice'), characterId: 'juniper', guildId: null };
    const bob = { userId: fixture.user('bob'), characterId: 'juniper', guildId: null };
    let open!: () => void;
    control.gate = new Promise((resolve) => (open = resolve));
    const secret = archive(memory, alice, 'my secret is the violet key', 1);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the drain now waits on the embedder with Alice's text
    expect(memory.forgetUser(alice)).toBe(1); // forget-me, meanwhile
    control.gate = null;
    const tea = archive(memory, bob, 'I like green tea', 2);
    expect(tea.id).toBe(secret.id);
    open();
    await memory.idle();
    const [expected] = await base.embed([tea.content], { purpose: 'document' });
    expect(cosine(storedVector(tea.id)!, expected!)).toBeGreaterThan(0.99);
    expect(backlog()).toEqual([]);
    expect((await memory.search(bob, 'violet key secret')).memories.filter((item) => item.vectorRank !== null && item.similarity! > 0.5)).toEqual([]);
  });

  it('keeps every archived turn while the embedder is down, searchable by text, and embeds them once it is back', async () => {
    fixture = openMemoryFixture('omoide-backlog-down-');
    const { embedder, control } = controllableEmbedder();
    const memory = fixture.memory(embedder);
    await memory.ensureEmbeddingSpace();
    const aki = { userId: fixture.user('aki'), characterId: 'juniper', guildId: null };
    control.down = true;
    const days = ['Mochi chased a moth', 'Mochi slept on my violin case', 'the vet weighed Mochi', 'Mochi learned to open the fridge', 'Mochi hid under the stairs all evening'];
    days.forEach((text, index) => archive(memory, aki, text, index));
    await memory.idle();
    expect(backlog().map((row) => row.attempts)).toEqual([0, 0, 0, 0, 0]); // an outage costs no tries
    expect((await memory.search(aki, 'Mochi')).memories).toHaveLength(5);
    control.down = false;
    archive(memory, aki, 'Mochi is asleep now', 9);
    await memory.idle();
    expect(backlog()).toEqual([]);
  });

  it('leaves a text the embedder refuses for the next start, and embeds the others meanwhile', async () => {
    fixture = openMemoryFixture('omoide-backlog-poison-');
    const { embedder, control } = controllableEmbedder();
    control.refuse = (text) => text.includes('POISON');
    const memory = fixture.memory(embedder);
    await memory.ensureEmbeddingSpace();
    const aki = { userId: fixture.user('aki'), characterId: 'juniper', guildId: null };
    const poison = archive(memory, aki, 'POISON that no model takes', 1);
    for (let index = 0; index < 4; index++) {
      archive(memory, aki, `an ordinary turn number ${index}`, 10 + index);
      await memory.idle();
    }
    expect(backlog()).toEqual([{ id: poison.id, attempts: 3 }]);
    const callsBefore = control.calls;
    archive(memory, aki, 'one more ordinary turn', 20);
    await memory.idle();
    expect(control.calls - callsBefore).toBe(1); // the given-up text is not tried again until the next start
    control.refuse = () => false;
    await memory.ensureEmbeddingSpace(); // a start: every waiting text gets its tries again
    expect(backlog()).toEqual([]);
  });
});
