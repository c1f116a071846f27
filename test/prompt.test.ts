import { describe, expect, it } from 'vitest';
import { loadTranslator } from '../src/core/i18n.js';
import type { HistoryLine } from '../src/core/turn.js';
import type { PromptInput } from '../src/engine/prompt.js';
import { buildPrompt } from '../src/engine/prompt.js';
import type { PromptBudgets } from '../src/engine/settings.js';
import { countTokens, messageOverheadTokens } from '../src/core/tokens.js';
import { localesDirectory } from '../src/util/paths.js';
import { makeCharacter } from './helpers/character.js';

const translator = loadTranslator(localesDirectory);
const budgets: PromptBudgets = {
  system: 1200, world: 600, lorebook: 600, portrait: 400, memories: 1500, scenes: 1500, examples: 600, history: 3000, current: 1000,
};

function line(role: 'user' | 'assistant', speakerName: string, content: string): HistoryLine {
  return { role, speakerName, content, tokenCount: countTokens(content) };
}

function input(overrides: Partial<PromptInput> = {}): PromptInput {
  return {
    character: makeCharacter(),
    userName: 'Aki',
    isGroup: true,
    locale: 'en-US',
    translator,
    context: {},
    history: [line('user', 'Aki', 'first'), line('assistant', 'Tess', 'hello Aki'), line('user', 'Bo', 'me too')],
    current: { speakerName: 'Aki', content: 'what now?' },
    budgets,
    contextWindow: 8192,
    replyReserve: 512,
    ...overrides,
  };
}

/** What the messages really cost, counted independently of the builder's own bookkeeping. */
function measuredTokens(messages: { content: string }[]): number {
  return messages.reduce((sum, message) => sum + countTokens(message.content) + messageOverheadTokens, 0);
}

describe('buildPrompt', () => {
  it('lays out system, history with speaker names in order, then the current message', () => {
    const { messages } = buildPrompt(input());
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'user']);
    expect(messages[0]!.content).toContain('You are Tess');
    expect(messages[0]!.content).toContain('Tess is a patient test pilot who talks to Aki'); // macros resolved
    expect(messages[0]!.content).toContain('## Scenario\nA hangar at dawn.');
    expect(messages[0]!.content).toContain('Safer than breakfast, Aki.');
    expect(messages.slice(1).map((m) => m.content)).toEqual(['Aki: first', 'hello Aki', 'Bo: me too', 'Aki: what now?']);
  });

  it('puts context sections in the documented reading order, each under its heading', () => {
    const { messages, sections } = buildPrompt(
      input({ context: { memories: ['Aki has a cat called Mochi.'], world: ['The hangar is on an island.'], scenes: ['Tess:「Wheels up.」'], lorebook: ['Mochi is a tabby.'] } }),
    );
    const system = messages[0]!.content;
    const order = ['## About Tess', '## World', '## Background knowledge', '## What Tess remembers about Aki', '## Classic scenes of Tess', '## Examples'];
    const positions = order.map((heading) => system.indexOf(heading));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(sections.memories.items).toBe(1);
  });

  it('uses Chinese headings and rules for a Chinese character', () => {
    const { messages } = buildPrompt(input({ character: makeCharacter({ name: '小满', language: 'zh-CN' }), locale: 'zh-CN' }));
    expect(messages[0]!.content).toContain('你是小满');
    expect(messages[0]!.content).toContain('## 关于小满');
  });

  it('keeps whole items best first within a section budget', () => {
    const memories = Array.from({ length: 50 }, (_, i) => `memory number ${i}: ${'detail '.repeat(20)}`);
    const { sections, messages } = buildPrompt(input({ context: { memories }, budgets: { ...budgets, memories: 200 } }));
    expect(sections.memories.tokens).toBeLessThanOrEqual(200);
    expect(sections.memories.items).toBeGreaterThan(0);
    expect(sections.memories.dropped).toBe(50 - sections.memories.items);
    expect(messages[0]!.content).toContain('memory number 0:');
    expect(messages[0]!.content).not.toContain('memory number 49:');
  });

  it('drops the oldest history first when the history budget is spent', () => {
    const history = Array.from({ length: 200 }, (_, i) => line(i % 2 ? 'assistant' : 'user', 'Aki', `message ${i} ${'blah '.repeat(10)}`));
    const { messages, sections } = buildPrompt(input({ history, budgets: { ...budgets, history: 300 } }));
    expect(sections.history.tokens).toBeLessThanOrEqual(300);
    expect(sections.history.dropped).toBeGreaterThan(0);
    const kept = messages.slice(1, -1).map((m) => m.content);
    expect(kept.at(-1)).toContain('message 199');
    const firstKept = Number(/message (\d+)/.exec(kept[0]!)![1]);
    expect(firstKept).toBe(200 - kept.length); // a contiguous run ending at the newest
  });

  it('never exceeds the context window minus the reply reserve, whatever the sizes', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const words = ['团子', 'cat', '书店', 'lighthouse', '下雨了', 'remember', '。', '!'];
    const text = (n: number) => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
    for (let round = 0; round < 200; round++) {
      const contextWindow = 300 + Math.floor(random() * 4000);
      const replyReserve = 50 + Math.floor(random() * 200);
      const built = buildPrompt(
        input({
          character: makeCharacter({ description: text(Math.floor(random() * 1500)), postHistoryInstructions: round % 2 ? text(40) : '' }),
          context: { memories: Array.from({ length: 20 }, () => text(30)), scenes: Array.from({ length: 10 }, () => text(80)) },
          history: Array.from({ length: 100 }, (_, i) => line(i % 2 ? 'assistant' : 'user', 'Aki', text(5 + Math.floor(random() * 60)))),
          current: { speakerName: 'Aki', content: text(Math.floor(random() * 3000)) },
          contextWindow,
          replyReserve,
        }),
      );
      const limit = contextWindow - replyReserve;
      expect(built.totalTokens).toBeLessThanOrEqual(limit);
      expect(measuredTokens(built.messages)).toBeLessThanOrEqual(limit);
      for (const [name, report] of Object.entries(built.sections)) {
        expect(report.tokens, name).toBeLessThanOrEqual(budgets[name as keyof PromptBudgets]);
      }
    }
  });

  it('cuts an over-long current message instead of dropping the persona', () => {
    const { messages, sections } = buildPrompt(input({ current: { speakerName: 'Aki', content: '长'.repeat(5000) } }));
    expect(sections.current.tokens).toBeLessThanOrEqual(budgets.current);
    expect(messages.at(-1)!.content.endsWith('…')).toBe(true);
    expect(messages[0]!.content).toContain('You are Tess');
  });

  it('appends post-history instructions as a final system message', () => {
    const { messages } = buildPrompt(input({ character: makeCharacter({ postHistoryInstructions: 'Stay brief, {{user}}.' }) }));
    expect(messages.at(-1)).toEqual({ role: 'system', content: 'Stay brief, Aki.' });
  });
});
