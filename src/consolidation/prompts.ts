/**
 * The consolidation prompts and the JSON each one must answer with. Prompts are written in the conversation's
 * language (the character's), so summaries, portraits and facts come back in the language they will be recalled in.
 * Every answer is one JSON object, parsed leniently (code fences and chatter around it are tolerated) and validated
 * strictly with zod: anything else is a MalformedAnswerError, retried and then given up, never stored.
 */
import { z } from 'zod';
import type { CharacterLanguage } from '../characters/character.js';
import { OmoideError } from '../core/errors.js';
import type { ChatMessage } from '../llm/types.js';

export type PromptLanguage = 'zh' | 'en';

export function promptLanguage(language: CharacterLanguage): PromptLanguage {
  return language === 'zh-CN' ? 'zh' : 'en';
}

/** The model answered, but not with what was asked (no JSON, wrong shape). */
export class MalformedAnswerError extends OmoideError {
  constructor(
    message: string,
    readonly answer: string,
  ) {
    super(message);
  }
}

const text = z.string().trim().min(1);
const importance = z.number().min(0).max(1).optional();

export const summaryAnswerSchema = z.object({
  summary: text.max(4000),
  events: z.array(z.object({ content: text.max(1000), importance })).max(30).default([]),
  facts: z
    .array(z.object({ content: text.max(1000), importance, replaces: z.array(z.number().int()).max(10).default([]) }))
    .max(30)
    .default([]),
});
export const portraitAnswerSchema = z.object({ portrait: text.max(4000) });
export const selfConceptAnswerSchema = z.object({ selfConcept: text.max(4000) });
export const rollingAnswerSchema = z.object({ summary: text.max(4000) });

export type SummaryAnswer = z.infer<typeof summaryAnswerSchema>;

/** The first JSON object in a model's answer, validated; throws MalformedAnswerError naming what is wrong. */
export function parseAnswer<T>(schema: z.ZodType<T>, answer: string): T {
  const unfenced = answer.replace(/```(?:json)?/gi, '');
  const start = unfenced.indexOf('{');
  const end = unfenced.lastIndexOf('}');
  if (start < 0 || end <= start) throw new MalformedAnswerError('the answer holds no JSON object', answer);
  let value: unknown;
  try {
    value = JSON.parse(unfenced.slice(start, end + 1));
  } catch (error) {
    throw new MalformedAnswerError(`the answer is not valid JSON (${(error as Error).message})`, answer);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'the object';
    throw new MalformedAnswerError(`the JSON does not fit: ${where}: ${issue?.message ?? 'invalid'}`, answer);
  }
  return parsed.data;
}

/** Sent after a malformed answer, so the next try knows what to fix. */
export function repairMessage(language: PromptLanguage, problem: string): ChatMessage {
  return {
    role: 'user',
    content:
      language === 'zh'
        ? `上一个回答无法使用：${problem}。请只输出符合要求的一个 JSON 对象，不要任何其他文字。`
        : `That answer could not be used: ${problem}. Reply again with only the one JSON object asked for, nothing else.`,
  };
}

export interface DialogueContext {
  readonly language: PromptLanguage;
  readonly characterName: string;
  readonly userName: string;
  /** formatted lines, oldest first ("[05-02 14:03] Alice: ...") */
  readonly dialogue: string;
  /** true when the start of the dialogue was cut to fit */
  readonly truncated: boolean;
}

function dialogueBlock(context: DialogueContext): string {
  const { language, truncated, dialogue } = context;
  const cut = truncated ? (language === 'zh' ? '（更早的对话已省略）\n' : '(earlier dialogue omitted)\n') : '';
  return (language === 'zh' ? '对话：\n' : 'Dialogue:\n') + cut + dialogue;
}

function section(title: string, body: string | null | undefined): string {
  return body ? `${title}\n${body}\n\n` : '';
}

export interface SummaryPromptInput extends DialogueContext {
  readonly day: string;
  readonly knownFacts: readonly { readonly id: number; readonly content: string }[];
  /** the summary of an earlier session the same day, to merge with */
  readonly earlierSummary: string | null;
  /** the session's rolling summary, when the dialogue had to be cut */
  readonly rollingSummary: string | null;
}

export function summaryPrompt(input: SummaryPromptInput): ChatMessage[] {
  const zh = input.language === 'zh';
  const { characterName: character, userName: user } = input;
  const facts = input.knownFacts.map((fact) => `[${fact.id}] ${fact.content}`).join('\n');
  const system = zh
    ? `你负责整理角色「${character}」关于用户「${user}」的长期记忆。阅读 ${input.day} 的对话，只输出一个 JSON 对象，不要其他文字：
{"summary": "...", "events": [{"content": "...", "importance": 0.5}], "facts": [{"content": "...", "importance": 0.5, "replaces": []}]}
- summary：这一天对话的摘要，第三人称，写出主要话题和结论，不超过 200 字。若给出了当天较早的摘要，把两者合并成一份。
- events：发生过或计划中的事情（谁、做了什么、何时），每条一句话；没有就给空数组。
- facts：关于用户的稳定事实（姓名、职业、喜好、关系、习惯、计划）。若某条新事实与“已知事实”中的一条矛盾或更新了它，把那条的编号写进 replaces。
- importance：0 到 1，越重要越高。
全部用中文书写。`
    : `You keep the long-term memory of the character "${character}" about the user "${user}". Read the dialogue of ${input.day} and answer with one JSON object only, no other text:
{"summary": "...", "events": [{"content": "...", "importance": 0.5}], "facts": [{"content": "...", "importance": 0.5, "replaces": []}]}
- summary: a third-person summary of the day's dialogue, its main topics and outcomes, at most 150 words. If an earlier summary of the same day is given, merge both into one.
- events: things that happened or are planned (who, what, when), one sentence each; an empty list if none.
- facts: lasting facts about the user (name, job, likes, relationships, habits, plans). If a new fact contradicts or updates one of the known facts, put that fact's id in replaces.
- importance: 0 to 1, higher for what matters more.
Write in English.`;
  const body =
    section(zh ? '已知事实：' : 'Known facts:', facts) +
    section(zh ? '当天较早的摘要：' : 'Earlier summary of this day:', input.earlierSummary) +
    section(zh ? '本次对话前面部分的摘要：' : 'Summary of the earlier part of this session:', input.rollingSummary) +
    dialogueBlock(input);
  return [
    { role: 'system', content: system },
    { role: 'user', content: body },
  ];
}

export interface PortraitPromptInput extends DialogueContext {
  readonly previous: string | null;
}

export function portraitPrompt(input: PortraitPromptInput): ChatMessage[] {
  const zh = input.language === 'zh';
  const { characterName: character, userName: user } = input;
  const system = zh
    ? `你负责维护角色「${character}」心中对用户「${user}」的印象（用户画像）。根据之前的画像和新的对话，写出更新后的完整画像：性格、喜好与厌恶、近况、以及「${character}」该怎样和他/她说话。只输出一个 JSON 对象，不要其他文字：
{"portrait": "..."}
画像不超过 200 字，用中文书写。新对话与旧画像矛盾时以新对话为准。`
    : `You maintain how the character "${character}" sees the user "${user}" (a user portrait). From the previous portrait and the new dialogue, write the complete updated portrait: personality, likes and dislikes, current situation, and how "${character}" should talk to them. Answer with one JSON object only, no other text:
{"portrait": "..."}
At most 150 words, in English. Where the new dialogue contradicts the old portrait, the dialogue wins.`;
  return [
    { role: 'system', content: system },
    { role: 'user', content: section(zh ? '之前的画像：' : 'Previous portrait:', input.previous) + dialogueBlock(input) },
  ];
}

export function selfConceptPrompt(input: PortraitPromptInput): ChatMessage[] {
  const zh = input.language === 'zh';
  const { characterName: character, userName: user } = input;
  const system = zh
    ? `你是角色「${character}」。根据你之前的自我认知和与「${user}」的新对话，写出你此刻对自己与「${user}」这段关系的认知：你们的关系、你对他/她的感受、你在他/她面前是怎样的自己、你想记住的约定。用第一人称。只输出一个 JSON 对象，不要其他文字：
{"selfConcept": "..."}
不超过 150 字，用中文书写。`
    : `You are the character "${character}". From your previous self-concept and the new dialogue with "${user}", write how you now see yourself in this relationship: what you are to each other, how you feel about them, who you are when with them, promises you want to keep. First person. Answer with one JSON object only, no other text:
{"selfConcept": "..."}
At most 120 words, in English.`;
  return [
    { role: 'system', content: system },
    { role: 'user', content: section(zh ? '之前的自我认知：' : 'Previous self-concept:', input.previous) + dialogueBlock(input) },
  ];
}

export function rollingPrompt(input: PortraitPromptInput): ChatMessage[] {
  const zh = input.language === 'zh';
  const { characterName: character, userName: user } = input;
  const system = zh
    ? `你在为「${character}」与「${user}」的一段长对话做滚动摘要。把之前的摘要和新的一段对话合并成一份新的摘要，保留话题、事实、约定和情绪变化。只输出一个 JSON 对象，不要其他文字：
{"summary": "..."}
不超过 300 字，第三人称，用中文书写。`
    : `You keep a rolling summary of a long conversation between "${character}" and "${user}". Merge the previous summary and the new part of the dialogue into one new summary that keeps topics, facts, promises and changes of mood. Answer with one JSON object only, no other text:
{"summary": "..."}
At most 200 words, third person, in English.`;
  return [
    { role: 'system', content: system },
    { role: 'user', content: section(zh ? '之前的摘要：' : 'Previous summary:', input.previous) + dialogueBlock(input) },
  ];
}
