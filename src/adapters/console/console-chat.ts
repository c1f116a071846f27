/**
 * The terminal chat: one local person (platform 'console') in a private, DM-like conversation with a character.
 * Different user names are different people with their own history. When stdin is not a terminal it reads plain
 * lines, one message each, so the chat can be scripted. Each line goes through the adapter runtime like a message
 * from any platform; the terminal's own commands (/character, /who, ...) are answered here.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { CharacterCatalog } from '../../characters/catalog.js';
import { resolveMacros } from '../../characters/macros.js';
import type { Clock } from '../../core/clock.js';
import type { Translator } from '../../core/i18n.js';
import type { EngineReply, IncomingMessage } from '../../core/message.js';
import type { Engine } from '../../engine/engine.js';
import type { ChatModel } from '../../llm/types.js';
import type { MessageRuntime, Outlet } from '../runtime/runtime.js';

export interface ConsoleChatOptions {
  /** Started here and stopped when the chat ends. */
  readonly runtime: MessageRuntime;
  readonly engine: Pick<Engine, 'characterFor' | 'setCharacter' | 'localeFor'>;
  readonly characters: CharacterCatalog;
  readonly translator: Translator;
  readonly chatModel: ChatModel;
  readonly clock: Clock;
  readonly userName: string;
  /** switch this person's chat to that character first */
  readonly characterId?: string;
  readonly input: Readable;
  readonly output: Writable;
  /** prompts and greetings for a person at a terminal; plain lines otherwise */
  readonly interactive: boolean;
}

export const consolePlatform = 'console';

/** Each console user has a private channel of their own, like a DM. */
export function consoleChannelId(userName: string): string {
  return `dm:${userName}`;
}

export async function runConsoleChat(options: ConsoleChatOptions): Promise<void> {
  const { runtime, engine, characters, translator, chatModel, clock, userName, output, interactive } = options;
  const channelId = consoleChannelId(userName);
  const print = (line: string) => output.write(`${line}\n`);
  let character = options.characterId
    ? engine.setCharacter(consolePlatform, null, channelId, options.characterId)
    : engine.characterFor(consolePlatform, null, channelId);
  const locale = () => engine.localeFor(character);
  const t = (key: string, params?: Record<string, string>) => translator.t(locale(), key, params);
  let sequence = 0;
  let unreachableExplained = false;

  if (interactive) {
    print(t('console.welcome', { character: character.name, user: userName }));
    if (character.greeting) print(`${character.name}: ${resolveMacros(character.greeting, { char: character.name, user: userName })}`);
  }

  const outlet: Outlet = {
    messageLimit: Number.POSITIVE_INFINITY,
    async send(_parts, reply) {
      print(replyLine(reply));
    },
  };
  /** The reply as printed; the first time the model cannot be reached, a hint on what to check instead. */
  function replyLine(reply: EngineReply): string {
    const unreachable = reply.failure && ['connection', 'timeout'].includes(reply.failure.kind);
    if (!unreachable || unreachableExplained) return `${reply.characterName}: ${reply.text}`;
    unreachableExplained = true;
    // Ollama's hint is to pull the model; an OpenAI-compatible server's is to check its address and key.
    return t(chatModel.provider === 'ollama' ? 'console.llm-unreachable' : 'console.llm-unreachable-openai', {
      provider: chatModel.provider,
      model: chatModel.modelId,
      endpoint: chatModel.endpoint,
      reason: reply.failure!.reason,
    });
  }

  runtime.start();
  const lines = createInterface({ input: options.input, terminal: false, crlfDelay: Infinity });
  const prompt = () => {
    if (interactive) output.write(`${userName}> `);
  };
  prompt();
  for await (const rawLine of lines) {
    const line = rawLine.trim();
    if (!line) {
      prompt();
      continue;
    }
    if (line.startsWith('/')) {
      const [command, ...args] = line.split(/\s+/);
      if (command === '/quit' || command === '/exit') break;
      if (command === '/help') print(t('console.help'));
      else if (command === '/characters') {
        print(t('console.characters', { list: characters.list().map((c) => `${c.id} (${c.name})`).join(', ') }));
      } else if (command === '/who') {
        print(t('console.who', { user: userName, character: character.name, id: character.id }));
      } else if (command === '/character') {
        const id = args[0] ?? '';
        if (!characters.get(id)) {
          print(t('console.unknown-character', { id, available: characters.list().map((c) => c.id).join(', ') }));
        } else {
          character = engine.setCharacter(consolePlatform, null, channelId, id);
          print(t('console.switched', { character: character.name }));
          if (interactive && character.greeting) print(`${character.name}: ${resolveMacros(character.greeting, { char: character.name, user: userName })}`);
        }
      } else print(t('console.unknown-command', { command: command ?? line }));
      prompt();
      continue;
    }
    const message: IncomingMessage = {
      platform: consolePlatform,
      guildId: null,
      channelId,
      messageId: `${clock.now().getTime()}-${++sequence}`,
      author: { id: userName, displayName: userName },
      text: line,
      addressing: { mentioned: false, repliedToBot: false, direct: true },
      replyTo: null,
      timestamp: clock.now(),
    };
    await runtime.receive(message, outlet);
    prompt();
  }
  await runtime.stop();
  if (interactive) print(t('console.bye'));
}
