/**
 * Consolidation on demand, through what admins use: `/memory consolidate @person` on QQ (the real adapter, command
 * handler and consolidator, the real openai client against the fake LLM server) and `omoide consolidate` (the built
 * CLI in a child process against the same fake). Both may be limited to one person: only that person's jobs run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createQQAdapter, type QQAdapter } from '../src/adapters/qq/adapter.js';
import { createCommandHandler } from '../src/commands/index.js';
import { loadTranslator } from '../src/core/i18n.js';
import { countTokens } from '../src/core/tokens.js';
import type { Engine } from '../src/engine/engine.js';
import { createPersonEraser } from '../src/memory/erase-person.js';
import { ConversationStore } from '../src/store/conversation-store.js';
import { openDatabase } from '../src/store/db.js';
import { JobStore } from '../src/store/job-store.js';
import { setLogLevel } from '../src/util/logger.js';
import { localesDirectory } from '../src/util/paths.js';
import { dialogueOf, hourMs, openConsolidationFixture, root, structuredReply, type ConsolidationFixture } from './consolidation-helpers.js';
import { at, createFakeOneBot, text, type FakeOneBot, type RecordedAction, type Segment } from './fakes/fake-onebot.js';
import { startFakeOpenAi, type FakeChatCall, type FakeOpenAi } from './fakes/fake-openai-server.js';
import { createRecordingEngine, createTestRuntime, qqSettings } from './helpers/runtime.js';
import { waitUntil } from './helpers/wait.js';

const translator = loadTranslator(localesDirectory);
const day1 = Date.UTC(2024, 4, 21, 2);
const selfId = '10001';
const groupId = '20002';
const adminQQ = '30001';
const aliceQQ = '30003';
const bobQQ = '40004';

beforeAll(() => setLogLevel('error'));

/** The people (not the character) whose dialogue was in the prompts the fake LLM was sent. */
function speakersOf(fake: FakeOpenAi): string[] {
  const lines = fake.chatRequests().flatMap((request) => dialogueOf({ messages: request.body.messages } as FakeChatCall));
  return [...new Set(lines.map((line) => line.slice(0, line.indexOf(':'))))].filter((name) => name !== 'Juniper Hale').sort();
}

describe('/memory consolidate @person over QQ', () => {
  let fixture: ConsolidationFixture | null = null;
  let peer: FakeOneBot | null = null;
  let adapter: QQAdapter | null = null;
  afterEach(async () => {
    await adapter?.stop();
    await peer?.close();
    await fixture?.close();
    adapter = peer = fixture = null;
  });

  it('runs only the jobs of the person named, for this group and character; without a name, everyone’s', async () => {
    fixture = await openConsolidationFixture();
    const { memory, characters } = fixture;
    const juniper = characters.get('juniper')!;
    const inGroup = { platform: 'qq', guildId: groupId };
    const alice = await fixture.say('Alice', 'I live in Tokyo', 'Lovely!', day1, { ...inGroup, platformUserId: aliceQQ });
    const bob = await fixture.say('Bob', 'I live in Paris', 'Très bien!', day1 + 60_000, { ...inGroup, platformUserId: bobQQ });
    fixture.base.clock.set(day1 + 7 * hourMs); // both sessions closed
    const consolidator = fixture.consolidator();
    const engine = { characterFor: () => juniper, localeFor: () => 'en-US' } as unknown as Engine;
    const commands = createCommandHandler({
      engine, characters, translator, memory, store: fixture.base.conversations, memoryScope: 'per-guild',
      consolidate: (scope) => consolidator.runDue(scope),
      erase: createPersonEraser({ db: fixture.base.db, memory, store: fixture.base.conversations, memoryScope: 'per-guild' }),
    });
    peer = createFakeOneBot({ selfId, nickname: 'June' });
    adapter = createQQAdapter({
      settings: qqSettings({ protocol: 'ws', endpoint: await peer.listen(), selfId }),
      runtime: createTestRuntime(createRecordingEngine(() => 'unused')), translator, commands, responseTimeoutMs: 5000,
    });
    await adapter.start();
    const onebot = peer;
    const textOf = (action: RecordedAction) =>
      (action.params.message as Segment[]).filter((segment) => segment.type === 'text').map((segment) => String(segment.data.text)).join('');
    const answersTo = () => onebot.actions.filter((action) => action.action === 'send_private_msg' && action.params.user_id === Number(adminQQ)).map(textOf);

    onebot.pushGroupMessage({ groupId, userId: adminQQ, member: { role: 'admin' }, message: [text('/memory consolidate --user '), at(bobQQ)] });
    await waitUntil(() => answersTo().length === 1, { timeoutMs: 10_000 });
    expect(answersTo()[0]).toBe('Consolidation ran 4 jobs: 4 done, 0 failed, 0 skipped.');
    expect(speakersOf(fixture.fake)).toEqual(['Bob']);
    const jobs = new JobStore(fixture.base.db);
    const scopeOf = (userId: number) => ({ userId, characterId: 'juniper', guildKey: groupId });
    expect(jobs.jobsOf(scopeOf(bob)).map((job) => `${job.kind}:${job.state}`).sort()).toEqual(['forget:done', 'portrait:done', 'self_concept:done', 'summary:done']);
    expect(jobs.jobsOf(scopeOf(alice))).toEqual([]);
    const memoryScope = (userId: number) => ({ userId, characterId: 'juniper', guildId: groupId });
    expect(memory.listForUser(memoryScope(bob), { kinds: ['fact'] }).map((fact) => fact.content)).toEqual(['The user lives in Paris']);
    expect(memory.listForUser(memoryScope(alice), { kinds: ['fact', 'daily_summary'] })).toEqual([]);

    onebot.pushGroupMessage({ groupId, userId: adminQQ, member: { role: 'admin' }, message: [text('/memory consolidate')] });
    await waitUntil(() => answersTo().length === 2, { timeoutMs: 10_000 });
    expect(answersTo()[1]).toBe('Consolidation ran 4 jobs: 4 done, 0 failed, 0 skipped.');
    expect(speakersOf(fixture.fake)).toEqual(['Alice', 'Bob']);
    expect(memory.listForUser(memoryScope(alice), { kinds: ['fact'] }).map((fact) => fact.content)).toEqual(['The user lives in Tokyo']);
  });
});

describe('omoide consolidate (CLI)', () => {
  let directory: string;
  let fake: FakeOpenAi | null = null;
  afterEach(async () => {
    await fake?.close();
    fake = null;
    rmSync(directory, { recursive: true, force: true });
  });

  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      // The CLI runs from dist/, which vitest's global setup keeps up to date.
      const child = spawn(process.execPath, [join(root, 'bin', 'omoide.js'), ...args], {
        cwd: directory,
        env: { PATH: process.env.PATH ?? '', OMOIDE_DATA_DIR: join(directory, 'data'), OPENAI_BASE_URL: fake!.url, OMOIDE_LOG_LEVEL: 'error' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** The consolidation jobs in the database, `kind:state`, by person. */
  function jobsByPerson(): Record<string, string[]> {
    const db = openDatabase(join(directory, 'data', 'omoide.db'));
    try {
      const rows = db
        .prepare(`SELECT u.platform_user_id AS person, j.kind || ':' || j.state AS job FROM consolidation_jobs j JOIN users u ON u.id = j.user_id ORDER BY person, job`)
        .all() as { person: string; job: string }[];
      const byPerson: Record<string, string[]> = {};
      for (const row of rows) (byPerson[row.person] ??= []).push(row.job);
      return byPerson;
    } finally {
      db.close();
    }
  }

  it('consolidates one person with --user, then everyone else; an unknown person is one clear line', async () => {
    directory = mkdtempSync(join(tmpdir(), 'omoide-consolidate-cli-'));
    fake = await startFakeOpenAi({ reply: structuredReply });
    // Two people talked to Juniper in the terminal eight hours ago (the CLI's clock is the real one): their sessions closed.
    const db = openDatabase(join(directory, 'data', 'omoide.db'));
    const store = new ConversationStore(db);
    const earlier = Date.now() - 8 * hourMs;
    for (const [name, said] of [['alice', 'I live in Tokyo'], ['bob', 'I live in Paris']] as const) {
      const asked = store.recordUserMessage({
        conversation: { platform: 'console', guildId: '', channelId: `console:${name}`, characterId: 'juniper' },
        platformUserId: name, displayName: name, content: said, tokenCount: countTokens(said), platformMessageId: null, createdAt: earlier,
      });
      store.recordAssistantMessage({
        conversationId: asked.conversationId, speakerName: 'Juniper Hale', content: 'Lovely!', tokenCount: 2,
        replyToMessageId: asked.messageId, failed: false, createdAt: earlier + 1000,
      });
    }
    db.close();

    // Each closed session: summary, portrait, self-concept (no memories yet, so no forgetting pass).
    const bob = await cli(['consolidate', '--user', 'bob']);
    expect(bob.code, bob.stderr).toBe(0);
    expect(bob.stdout).toContain('consolidated: 3 jobs, 3 done, 0 failed, 0 skipped\n');
    expect(speakersOf(fake)).toEqual(['bob']);

    expect(jobsByPerson()).toEqual({ bob: ['portrait:done', 'self_concept:done', 'summary:done'] });

    // Everyone else: Alice's session, and the forgetting pass over Bob's new memories (it asks no model).
    const everyone = await cli(['consolidate']);
    expect(everyone.code, everyone.stderr).toBe(0);
    expect(everyone.stdout).toContain('consolidated: 4 jobs, 4 done, 0 failed, 0 skipped\n');
    expect(speakersOf(fake)).toEqual(['alice', 'bob']);
    expect(fake.chatRequests()).toHaveLength(6);
    expect(jobsByPerson()).toEqual({
      alice: ['portrait:done', 'self_concept:done', 'summary:done'],
      bob: ['forget:done', 'portrait:done', 'self_concept:done', 'summary:done'],
    });

    // Again: nothing left to ask the model (at most a forgetting pass, which asks none).
    const again = await cli(['consolidate']);
    expect(again.code, again.stderr).toBe(0);
    expect(fake.chatRequests()).toHaveLength(6);

    const nobody = await cli(['consolidate', '--user', 'nobody']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr.trim()).toBe('omoide: no console user "nobody" has talked to omoide');
  });
});
