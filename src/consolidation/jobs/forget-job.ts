/**
 * The daily forgetting pass (MemoryBank's forgetting curve): memories of the fading kinds whose retention
 * e^(−t/(c·S)) fell below the threshold are marked forgotten, kept in the archive and restorable. Portraits and
 * self-concepts never fade; they are only superseded.
 */
import { daysBetween, retention } from '../../memory/forgetting.js';
import type { JobSpec } from '../job-spec.js';

const forgettableKinds = new Set(['turn', 'event', 'fact', 'daily_summary']);

export const forgetJob: JobSpec<'forget'> = {
  kind: 'forget',
  needsCharacter: false,
  async perform(_job, context) {
    const now = context.now();
    const { decay } = context.memorySettings;
    const faded = context.memory
      .listForUser(context.memoryScope)
      .filter((record) => forgettableKinds.has(record.kind))
      .filter((record) => {
        const sinceDays = daysBetween(record.lastRecalledAt ?? record.occurredAt, now);
        return retention(sinceDays, record.strength, decay[record.kind]) < context.settings.forgetThreshold;
      })
      .map((record) => record.id);
    return { drafts: [], forgetIds: faded };
  },
};
