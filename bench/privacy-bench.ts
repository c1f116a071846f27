/**
 * `npm run bench:privacy`: no item of one person's memory ever reaches another person's prompt or command answer, at
 * scale. 1,000 people × 3 servers × 2 characters, each person with a fact per server and character that carries a
 * token of its own; then every person asks every character in every server, through the real app (engine, memory
 * retrieval and portrait, command handler), and each prompt and `/memory show` answer is searched for tokens that are
 * not that person's to see: another person's, another character's, and (memory per guild) another server's. Both
 * memory scopes. `--quick` runs 100 people.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.js';
import { createCommandHandler } from '../src/commands/index.js';
import { loadConfig } from '../src/config.js';
import type { IncomingMessage } from '../src/core/message.js';
import type { ChatModel, ChatRequest, ChatStreamPart } from '../src/llm/types.js';
import { setLogLevel } from '../src/util/logger.js';

const quick = process.argv.includes('--quick');
const people = quick ? 100 : 1000;
const servers = ['s0', 's1', 's2'];
const characters = ['juniper', 'xiaoman'];
const pets = ['cat', 'parrot', 'tortoise', 'hamster', 'goldfish'];

/** The token only person p, in server s, with character c may see (per guild); any server of theirs when global. */
const token = (person: number, server: number, character: number) => `zq${person}x${server}x${character}q`;
const tokenPattern = /zq(\d+)x(\d+)x(\d+)q/g;

/** Answers at once and keeps the last prompt. */
function recordingModel(): ChatModel & { lastPrompt: string } {
  const model = {
    provider: 'bench', modelId: 'recording', endpoint: 'in-process', lastPrompt: '',
    async generate() {
      return { text: 'I remember.', finishReason: 'stop' as const };
    },
    async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
      model.lastPrompt = request.messages.map((message) => message.content).join('\n');
      yield { type: 'text-delta', text: 'I remember.' };
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
  return model;
}

interface Tally {
  prompts: number;
  answers: number;
  tokensSeen: number;
  leaks: string[];
}

async function run(scope: 'per-guild' | 'global'): Promise<Tally & { facts: number; seconds: number }> {
  const started = Date.now();
  const directory = mkdtempSync(join(tmpdir(), 'omoide-privacy-bench-'));
  writeFileSync(join(directory, 'config.yaml'), `memory:\n  scope: ${scope}\nconsolidation:\n  enabled: false\n`);
  const model = recordingModel();
  const app = await createApp(loadConfig({ env: { OMOIDE_DATA_DIR: directory }, cwd: directory }), { chatModel: model });
  const tally: Tally = { prompts: 0, answers: 0, tokensSeen: 0, leaks: [] };
  try {
    const channel = (server: number, character: number) => `${servers[server]}-${characters[character]}`;
    servers.forEach((_, server) => characters.forEach((id, character) => app.engine.setCharacter('discord', servers[server]!, channel(server, character), id)));
    // Every person exists (a first message), then every fact is written through the memory facade.
    const userIds = Array.from({ length: people }, (_, person) =>
      app.store.recordUserMessage({
        conversation: { platform: 'discord', guildId: servers[0]!, channelId: 'lobby', characterId: 'juniper' },
        platformUserId: `p${person}`, displayName: `Person ${person}`, content: 'hello', tokenCount: 1, platformMessageId: null,
        createdAt: Date.UTC(2024, 0, 1),
      }).userId,
    );
    const facts = userIds.flatMap((userId, person) =>
      servers.flatMap((server, s) =>
        characters.map((characterId, c) => ({
          scope: { userId, characterId, guildId: server },
          kind: 'fact' as const,
          content: `Person ${person} keeps a ${pets[(person + s + c) % pets.length]} named ${token(person, s, c)}.`,
          occurredAt: Date.UTC(2024, 0, 2) + person,
        })),
      ),
    );
    for (let start = 0; start < facts.length; start += 2000) await app.memory.rememberMany(facts.slice(start, start + 2000));

    const commands = createCommandHandler({
      engine: app.engine, characters: app.characters, translator: app.translator, memory: app.memory, store: app.store,
      memoryScope: scope, erase: app.erasePerson,
    });
    /** The tokens in `text` that `person` may not see in server `s` with character `c`. */
    const check = (text: string, person: number, s: number, c: number, where: string) => {
      for (const match of text.matchAll(tokenPattern)) {
        tally.tokensSeen++;
        const [owner, server, character] = [Number(match[1]), Number(match[2]), Number(match[3])];
        const visible = owner === person && character === c && (scope === 'global' || server === s);
        if (!visible) tally.leaks.push(`${where}: person ${person} in ${servers[s]} with ${characters[c]} saw ${match[0]}`);
      }
    };
    let sequence = 0;
    for (let person = 0; person < people; person++) {
      for (let s = 0; s < servers.length; s++) {
        for (let c = 0; c < characters.length; c++) {
          const message: IncomingMessage = {
            platform: 'discord', guildId: servers[s]!, channelId: channel(s, c), messageId: `m${++sequence}`,
            author: { id: `p${person}`, displayName: `Person ${person}` },
            // Names every pet and a neighbour: retrieval gets every chance to reach what it must not.
            text: `what is my ${pets.join(' or ')} called? Person ${person + 1} told me about theirs.`,
            addressing: { mentioned: true, repliedToBot: false, direct: false }, replyTo: null,
            timestamp: new Date(Date.UTC(2024, 0, 10) + sequence * 1000),
          };
          const character = app.engine.characterFor(message.platform, message.guildId, message.channelId);
          await app.engine.answer(message, { character });
          check(model.lastPrompt, person, s, c, 'prompt');
          tally.prompts++;
          const shown = await commands.run({
            platform: 'discord', guildId: servers[s]!, channelId: channel(s, c), author: message.author, isAdmin: false, isOwner: false,
            locale: 'en-US', command: 'memory', subcommand: 'show', options: {}, timestamp: message.timestamp,
          });
          check(shown.text, person, s, c, '/memory show');
          tally.answers++;
        }
      }
    }
    await app.memory.idle();
    return { ...tally, facts: facts.length, seconds: (Date.now() - started) / 1000 };
  } finally {
    await app.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

setLogLevel('warn');
console.log(`privacy at scale: ${people} people × ${servers.length} servers × ${characters.length} characters, a fact each with its own token;`);
console.log('every person asks every character in every server (a question naming every pet and a neighbour), and /memory show;');
console.log('a leak is a token in a prompt or an answer that is another person\'s, another character\'s, or (per guild) another server\'s.');
for (const scope of ['per-guild', 'global'] as const) {
  const result = await run(scope);
  console.log(
    `${scope.padEnd(9)} | people ${people} | facts ${result.facts} | prompts checked ${result.prompts} | answers checked ${result.answers} | ` +
      `tokens seen ${result.tokensSeen} | leaks ${result.leaks.length} | ${result.seconds.toFixed(0)} s`,
  );
  for (const leak of result.leaks.slice(0, 10)) console.log(`  LEAK ${leak}`);
}
