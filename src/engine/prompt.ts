/**
 * The one prompt layout. Every prompt omoide sends is assembled here, from named sections, each under its own token
 * budget, and the whole never exceeds the model's context window minus the reply reserve.
 *
 * Layout (messages in order):
 *   1. system   — role-play rules, then "## <heading>" blocks in this order:
 *                 persona (description, personality, scenario, the card's system_prompt)     budget: system
 *                 world (the shared world the character lives in)                              budget: world
 *                 lorebook (world-info entries triggered by recent messages)                   budget: lorebook
 *                 portrait (who the speaker is; the character's self-concept toward them)      budget: portrait
 *                 memories (recalled memories of the speaker, each with its date)              budget: memories
 *                 scenes (classic script lines nearest to what was said, as few-shot scenes)   budget: scenes
 *                 examples (the card's example dialogues)                                      budget: examples
 *   2. history  — earlier messages oldest first, people's lines as "Name: text"               budget: history
 *   3. current  — the message being answered, "Name: text"                                    budget: current
 *   4. system   — the card's post_history_instructions, when it has them (counted in system)
 *
 * Space is handed out in priority order — current, system, portrait, memories, lorebook, world, scenes, examples,
 * history —
 * each section taking at most its budget and what is left; history is filled newest first, so the oldest lines drop
 * first. Optional sections take "items" best first and keep whole items only.
 */
import type { Character } from '../characters/character.js';
import { resolveMacros } from '../characters/macros.js';
import type { Translator } from '../core/i18n.js';
import { countTokens, messageOverheadTokens, truncateToTokens } from '../core/tokens.js';
import type { ContextSectionName, HistoryLine } from '../core/turn.js';
import type { ChatMessage } from '../llm/types.js';
import type { PromptBudgets } from './settings.js';

export type SectionName = keyof PromptBudgets;

export interface PromptInput {
  readonly character: Character;
  /** display name of the person being answered */
  readonly userName: string;
  readonly isGroup: boolean;
  readonly locale: string;
  readonly translator: Translator;
  /** items best first, filled by the engine's context providers */
  readonly context: Partial<Record<ContextSectionName, readonly string[]>>;
  /** oldest first, without the current message */
  readonly history: readonly HistoryLine[];
  readonly current: { readonly speakerName: string; readonly content: string };
  readonly budgets: PromptBudgets;
  readonly contextWindow: number;
  readonly replyReserve: number;
}

export interface SectionReport {
  readonly tokens: number;
  readonly items: number;
  readonly dropped: number;
}

export interface BuiltPrompt {
  readonly messages: ChatMessage[];
  readonly sections: Readonly<Record<SectionName, SectionReport>>;
  /** indexes of the context items that made it into the prompt, per section (e.g. to strengthen recalled memories) */
  readonly keptItems: Readonly<Partial<Record<ContextSectionName, readonly number[]>>>;
  readonly totalTokens: number;
}

const emptyReport: SectionReport = { tokens: 0, items: 0, dropped: 0 };

function headed(heading: string, body: string): string {
  return `## ${heading}\n${body}`;
}

/** Packs whole items best-first under a budget; the heading is only paid for when something fits. */
export function packItems(
  heading: string,
  items: readonly string[],
  budget: number,
): { text: string; report: SectionReport; kept: number[] } {
  const headingCost = countTokens(`## ${heading}\n`) + 1;
  let used = headingCost;
  const kept: number[] = [];
  items.forEach((item, index) => {
    const cost = countTokens(item) + 1;
    if (used + cost <= budget) {
      kept.push(index);
      used += cost;
    }
  });
  if (kept.length === 0) return { text: '', report: { tokens: 0, items: 0, dropped: items.length }, kept };
  const text = headed(heading, kept.map((index) => items[index]).join('\n\n'));
  return { text, report: { tokens: used, items: kept.length, dropped: items.length - kept.length }, kept };
}

export function buildPrompt(input: PromptInput): BuiltPrompt {
  const { character, translator, locale } = input;
  const names = { char: character.name, user: input.userName };
  const fill = (text: string) => resolveMacros(text, names);
  const t = (key: string, params: Record<string, string> = {}) => translator.t(locale, `prompt.${key}`, { ...names, ...params });

  let remaining = input.contextWindow - input.replyReserve;
  const sections: Record<SectionName, SectionReport> = {
    system: emptyReport, world: emptyReport, lorebook: emptyReport, portrait: emptyReport, memories: emptyReport,
    scenes: emptyReport, examples: emptyReport, history: emptyReport, current: emptyReport,
  };
  const take = (name: SectionName) => Math.max(0, Math.min(input.budgets[name], remaining));

  // current: always present; an over-long message is cut rather than pushing everything else out, and it never
  // takes more than half of the room, so the persona always has a place.
  const currentBudget = Math.min(input.budgets.current, Math.floor(remaining / 2)) - messageOverheadTokens;
  const currentText = truncateToTokens(`${input.current.speakerName}: ${input.current.content}`, currentBudget);
  const currentTokens = countTokens(currentText) + messageOverheadTokens;
  sections.current = { tokens: currentTokens, items: 1, dropped: 0 };
  remaining -= currentTokens;

  // system: rules and persona, plus post-history instructions, under one budget.
  const where = input.isGroup ? t('where-group') : t('where-direct');
  const personaParts = [
    t('rules', { where, language: t('language') }),
    character.description && headed(t('persona'), fill(character.description)),
    character.personality && headed(t('personality'), fill(character.personality)),
    character.scenario && headed(t('scenario'), fill(character.scenario)),
    character.systemPrompt && headed(t('instructions'), fill(character.systemPrompt)),
  ].filter(Boolean);
  const postHistory = character.postHistoryInstructions ? fill(character.postHistoryInstructions) : '';
  const systemBudget = take('system') - messageOverheadTokens - (postHistory ? messageOverheadTokens : 0);
  // Too little room for even a system message (a tiny context window): send the current message alone.
  const hasSystem = systemBudget > 0;
  const postHistoryText = hasSystem ? truncateToTokens(postHistory, Math.floor(systemBudget / 4)) : '';
  const personaText = hasSystem ? truncateToTokens(personaParts.join('\n\n'), systemBudget - countTokens(postHistoryText)) : '';
  const systemTokens = hasSystem
    ? countTokens(personaText) + messageOverheadTokens + (postHistoryText ? countTokens(postHistoryText) + messageOverheadTokens : 0)
    : 0;
  sections.system = { tokens: systemTokens, items: hasSystem ? personaParts.length : 0, dropped: hasSystem ? 0 : personaParts.length };
  remaining -= systemTokens;
  // The optional sections live inside the system message.
  const takeContext = (name: SectionName) => (hasSystem ? take(name) : 0);
  const blocks: string[] = [personaText];
  const contextHeadings: Record<ContextSectionName, string> = {
    portrait: t('portrait'),
    memories: t('memories'),
    lorebook: t('lorebook'),
    world: t('world'),
    scenes: t('scenes'),
  };
  const packed: Partial<Record<SectionName, string>> = {};
  const keptItems: Partial<Record<ContextSectionName, number[]>> = {};
  for (const name of ['portrait', 'memories', 'lorebook', 'world', 'scenes'] as const) {
    const items = (input.context[name] ?? []).map(fill);
    const { text, report, kept } = packItems(contextHeadings[name], items, takeContext(name));
    sections[name] = report;
    remaining -= report.tokens;
    packed[name] = text;
    keptItems[name] = kept;
  }
  const exampleUser = t('example-user');
  const exampleItems = character.exampleDialogues.map((dialogue) =>
    dialogue.map((turn) => `${turn.speaker === 'user' ? exampleUser : character.name}: ${fill(turn.text)}`).join('\n'),
  );
  const examples = packItems(t('examples'), exampleItems, takeContext('examples'));
  sections.examples = examples.report;
  remaining -= examples.report.tokens;

  // Reading order differs from priority order: world knowledge first, then the person, memories, scenes, examples.
  for (const text of [packed.world, packed.lorebook, packed.portrait, packed.memories, packed.scenes, examples.text]) {
    if (text) blocks.push(text);
  }

  // history: newest first until the budget is spent, then back into reading order.
  const historyBudget = take('history');
  let historyTokens = 0;
  const historyMessages: ChatMessage[] = [];
  let kept = 0;
  for (let index = input.history.length - 1; index >= 0; index--) {
    const line = input.history[index]!;
    const prefix = line.role === 'user' ? `${line.speakerName}: ` : '';
    const cost = line.tokenCount + (prefix ? countTokens(prefix) : 0) + messageOverheadTokens;
    if (historyTokens + cost > historyBudget) break;
    historyTokens += cost;
    historyMessages.push({ role: line.role, content: prefix + line.content });
    kept++;
  }
  historyMessages.reverse();
  sections.history = { tokens: historyTokens, items: kept, dropped: input.history.length - kept };

  const messages: ChatMessage[] = [
    ...(hasSystem ? [{ role: 'system' as const, content: blocks.join('\n\n') }] : []),
    ...historyMessages,
    { role: 'user', content: currentText },
  ];
  if (postHistoryText) messages.push({ role: 'system', content: postHistoryText });
  const totalTokens = Object.values(sections).reduce((sum, report) => sum + report.tokens, 0);
  return { messages, sections, keptItems, totalTokens };
}
