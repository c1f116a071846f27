/**
 * The JSON repair loop on its own: an in-process model answers from a script; the tries ledger is a plain counter,
 * as a job's row would keep it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { askJson, type JobTries } from '../src/consolidation/ask-json.js';
import { MalformedAnswerError } from '../src/consolidation/prompts.js';
import { createRateLimiter } from '../src/consolidation/rate-limit.js';
import { LlmError, type ChatModel, type ChatRequest, type ChatStreamPart } from '../src/llm/types.js';

const schema = z.object({ summary: z.string().min(1) });
const prompt = [
  { role: 'system' as const, content: 'Answer with {"summary": "..."}' },
  { role: 'user' as const, content: 'Dialogue: ...' },
];

/** Answers with the scripted texts in turn (the last one from then on); an Error in the script is thrown. */
function scriptedModel(...script: (string | Error)[]): ChatModel & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    provider: 'scripted',
    modelId: 'scripted-1',
    endpoint: 'in-process',
    requests,
    async generate(request) {
      requests.push(request);
      const next = script[Math.min(requests.length, script.length) - 1]!;
      if (next instanceof Error) throw next;
      return { text: next, finishReason: 'stop' };
    },
    async *stream(): AsyncIterable<ChatStreamPart> {
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
}

function ledger(usedBefore = 0): JobTries & { problems: string[] } {
  const problems: string[] = [];
  let used = usedBefore;
  return {
    get used() {
      return used;
    },
    problems,
    record() {
      used++;
    },
    noteProblem(problem) {
      problems.push(problem);
    },
  };
}

function ask(chatModel: ChatModel, tries: JobTries, maxAttempts = 3) {
  return askJson({ schema, prompt, language: 'en' }, { chatModel, limiter: createRateLimiter(0), maxAttempts, tries });
}

describe('the JSON repair loop', () => {
  it('asks again with the malformed answer and what was wrong with it, and returns the first answer that fits', async () => {
    const model = scriptedModel('Sure! The summary is: a quiet day.', '{"summary": ""}', '```json\n{"summary": "A quiet day."}\n```');
    const tries = ledger();
    await expect(ask(model, tries)).resolves.toEqual({ summary: 'A quiet day.' });
    expect(tries.used).toBe(3);
    expect(tries.problems).toEqual([expect.stringContaining('no JSON object'), expect.stringContaining('does not fit: summary')]);
    expect(model.requests.every((request) => request.json === true)).toBe(true);
    // Each repair is the original prompt, the last bad answer and a note: notes do not pile up.
    const repair = model.requests[2]!.messages;
    expect(repair).toHaveLength(4);
    expect(repair.slice(0, 2)).toEqual(prompt);
    expect(repair[2]).toEqual({ role: 'assistant', content: '{"summary": ""}' });
    expect(repair[3]!.content).toContain('could not be used: the JSON does not fit: summary');
  });

  it('gives up after maxAttempts tries with the last problem, each one recorded', async () => {
    const model = scriptedModel('no JSON here');
    const tries = ledger();
    const failure = ask(model, tries, 3);
    await expect(failure).rejects.toBeInstanceOf(MalformedAnswerError);
    await expect(failure).rejects.toThrow(/no JSON object/);
    expect(model.requests).toHaveLength(3);
    expect(tries).toMatchObject({ used: 3, problems: [expect.any(String), expect.any(String), expect.any(String)] });
  });

  it('counts tries across runs: a job that used its tries earlier gets only what is left, or none', async () => {
    const once = scriptedModel('still no JSON');
    await expect(ask(once, ledger(2), 3)).rejects.toThrow(/no JSON object/);
    expect(once.requests).toHaveLength(1);

    const never = scriptedModel('{"summary": "unasked"}');
    await expect(ask(never, ledger(3), 3)).rejects.toThrow(/no tries left \(3\)/);
    expect(never.requests).toHaveLength(0);
  });

  it('leaves any other error to the caller at once: the try counts, nothing is noted, nothing is asked again', async () => {
    const model = scriptedModel(new LlmError('connection refused', 'scripted', 'connection', true), '{"summary": "too late"}');
    const tries = ledger();
    await expect(ask(model, tries)).rejects.toBeInstanceOf(LlmError);
    expect(model.requests).toHaveLength(1);
    expect(tries).toMatchObject({ used: 1, problems: [] });
  });
});
