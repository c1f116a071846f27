/**
 * A chunk of a long session (Wang et al.'s recursive summaries): the session's previous rolling summary and the new
 * chunk become one summary that supersedes the previous one, so a long day can be recalled, and summarized, before it
 * ends. Chunks of one session chain in order: the pool keeps them so.
 */
import type { JobSpec } from '../job-spec.js';
import { rollingAnswerSchema, rollingPrompt } from '../prompts.js';

export const rollingJob: JobSpec<'rolling'> = {
  kind: 'rolling',
  needsCharacter: true,
  async perform(job, context) {
    const dialogue = context.dialogue();
    if (!dialogue) return { drafts: [] };
    const { messages } = dialogue;
    const previous = job.sessionStartId === null
      ? null
      : context.current(context.earlierJobs.latestDoneInSession('rolling', job, job.sessionStartId, job.toMessageId ?? 0)?.resultMemoryIds[0]);
    const answer = await context.askJson({
      schema: rollingAnswerSchema,
      prompt: rollingPrompt({ ...dialogue.context, previous: previous?.content ?? null }),
      language: dialogue.context.language,
    });
    return {
      drafts: [
        {
          kind: 'daily_summary', content: answer.summary, occurredAt: messages.at(-1)!.createdAt, importance: 0.5,
          sourceMessageIds: [messages[0]!.id, messages.at(-1)!.id],
          ...(previous ? { supersedes: previous.id } : {}),
        },
      ],
    };
  },
};
