/**
 * At the close of a session, the newest version of how the character sees the user (MemoryBank's user portrait) and
 * of how it sees itself with them (DigitalLife's self-concept). Both rewrite the previous version with the new
 * dialogue and supersede it, so one scope's sessions must run in order: the pool keeps them so.
 */
import type { z } from 'zod';
import type { ChatMessage } from '../../llm/types.js';
import type { JobSpec } from '../job-spec.js';
import {
  portraitAnswerSchema,
  portraitPrompt,
  selfConceptAnswerSchema,
  selfConceptPrompt,
  type PortraitPromptInput,
} from '../prompts.js';

/** A job that rewrites the scope's latest memory of its kind and supersedes it. */
function versionedJob<K extends 'portrait' | 'self_concept', A>(
  kind: K,
  schema: z.ZodType<A>,
  prompt: (input: PortraitPromptInput) => ChatMessage[],
  contentOf: (answer: A) => string,
): JobSpec<K> {
  return {
    kind,
    needsCharacter: true,
    async perform(_job, context) {
      const dialogue = context.dialogue();
      if (!dialogue) return { drafts: [] };
      const { messages } = dialogue;
      const previous = context.memory.latestOfKind(context.memoryScope, kind);
      const answer = await context.askJson({
        schema, prompt: prompt({ ...dialogue.context, previous: previous?.content ?? null }), language: dialogue.context.language,
      });
      return {
        drafts: [
          {
            kind, content: contentOf(answer), occurredAt: messages.at(-1)!.createdAt, importance: 0.8,
            sourceMessageIds: [messages[0]!.id, messages.at(-1)!.id],
            ...(previous ? { supersedes: previous.id } : {}),
          },
        ],
      };
    },
  };
}

export const portraitJob = versionedJob('portrait', portraitAnswerSchema, portraitPrompt, (answer) => answer.portrait);
export const selfConceptJob = versionedJob('self_concept', selfConceptAnswerSchema, selfConceptPrompt, (answer) => answer.selfConcept);
