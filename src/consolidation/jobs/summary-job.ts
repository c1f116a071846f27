/**
 * A day of a closed session (MemoryBank's daily summary): one summary of the day, the events in it, and lasting facts
 * about the user. A second session on the same day merges into that day's summary and supersedes it; a new fact may
 * supersede a known one it updates. When the day's dialogue had to be cut, the session's rolling summary stands in
 * for the part left out.
 */
import { dayInTimeZone } from '../../memory/date-query.js';
import type { JobDraft } from '../commit-job.js';
import type { JobSpec } from '../job-spec.js';
import { summaryAnswerSchema, summaryPrompt } from '../prompts.js';

/** Known facts offered to the model, newest first, so it can say which one a new fact replaces. */
const knownFactLimit = 60;

export const summaryJob: JobSpec<'summary'> = {
  kind: 'summary',
  needsCharacter: true,
  async perform(job, context) {
    const timeZone = context.memorySettings.timezone;
    const dialogue = context.dialogue(job.day === null ? undefined : (message) => dayInTimeZone(message.createdAt, timeZone) === job.day);
    if (!dialogue) return { drafts: [] };
    const { messages } = dialogue;
    const knownFacts = context.memory.listForUser(context.memoryScope, { kinds: ['fact'], limit: knownFactLimit });
    const earlier = context.current(context.earlierJobs.latestDoneOfDay('summary', job, job.day ?? '', job.id)?.resultMemoryIds[0]);
    const rolling = dialogue.context.truncated && job.sessionStartId !== null
      ? context.current(context.earlierJobs.latestDoneInSession('rolling', job, job.sessionStartId, (job.toMessageId ?? 0) + 1)?.resultMemoryIds[0])
      : null;
    const prompt = summaryPrompt({
      ...dialogue.context,
      day: job.day ?? dayInTimeZone(messages[0]!.createdAt, timeZone),
      knownFacts: knownFacts.map((fact) => ({ id: fact.id, content: fact.content })),
      earlierSummary: earlier?.content ?? null,
      rollingSummary: rolling?.content ?? null,
    });
    const answer = await context.askJson({ schema: summaryAnswerSchema, prompt, language: dialogue.context.language });

    const at = messages.at(-1)!.createdAt;
    const sources = messages.map((message) => message.id);
    const offered = new Set(knownFacts.map((fact) => fact.id));
    const replaced = new Set<number>();
    const drafts: JobDraft[] = [
      {
        kind: 'daily_summary', content: answer.summary, occurredAt: at, importance: 0.6, sourceMessageIds: sources,
        ...(earlier ? { supersedes: earlier.id } : {}),
      },
      ...answer.events.map((event): JobDraft => ({
        kind: 'event', content: event.content, occurredAt: at, importance: event.importance ?? 0.5, sourceMessageIds: sources,
      })),
      ...answer.facts.map((fact): JobDraft => {
        // Only a fact we offered, still current, and not already replaced by another new fact of this answer.
        const target = fact.replaces.find((id) => offered.has(id) && !replaced.has(id) && context.current(id) !== null);
        const ignored = fact.replaces.filter((id) => id !== target);
        if (ignored.length > 0) context.logger.debug('fact replacement ids ignored', { job: job.id, ignored });
        if (target !== undefined) replaced.add(target);
        return {
          kind: 'fact', content: fact.content, occurredAt: at, importance: fact.importance ?? 0.6, sourceMessageIds: sources,
          ...(target !== undefined ? { supersedes: target } : {}),
        };
      }),
    ];
    return { drafts };
  },
};
