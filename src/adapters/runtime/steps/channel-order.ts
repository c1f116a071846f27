/** The rest of the pipeline runs in the channel's queue: one channel's messages are answered in the order they came. */
import type { KeyedQueue } from '../../../util/keyed-queue.js';
import { channelKey, type Step } from '../pipeline.js';

export function inChannelOrder(queue: KeyedQueue): Step {
  return (context, next) => queue.run(channelKey(context.message), next);
}
