/**
 * A person's addressed messages closer together than the cooldown are dropped: by the platform's timestamps, so the
 * decision is the same however late a message is handled. Only the last accepted time per person is kept, and
 * entries older than the cooldown are pruned as new people write.
 */
import type { Logger } from '../../../util/logger.js';
import type { Step } from '../pipeline.js';

/** Above this many remembered people, those whose cooldown has passed are forgotten. */
const pruneAbove = 1024;

/** The step, and how many people it remembers now (for the runtime's stats). */
export function cooldown(cooldownMs: number, logger: Logger): Step & { readonly remembered: () => number } {
  const lastAcceptedAt = new Map<string, number>();
  const step: Step = async (context, next) => {
    if (cooldownMs <= 0) return next();
    const { message } = context;
    const person = `${message.platform}\u0000${message.author.id}`;
    const at = message.timestamp.getTime();
    const last = lastAcceptedAt.get(person);
    if (last !== undefined && at - last < cooldownMs) {
      logger.debug('cooldown: message ignored', { user: message.author.id, channel: message.channelId });
      return;
    }
    lastAcceptedAt.delete(person); // re-inserted last: the map stays in order of acceptance
    lastAcceptedAt.set(person, at);
    if (lastAcceptedAt.size > pruneAbove) {
      for (const [key, time] of lastAcceptedAt) {
        if (at - time < cooldownMs) break;
        lastAcceptedAt.delete(key);
      }
    }
    return next();
  };
  return Object.assign(step, { remembered: () => lastAcceptedAt.size });
}
