/**
 * The reply goes out in parts the platform accepts; a failed send is logged (the reply stays stored). Nothing goes
 * out once the runtime was stopped: the connection is closing.
 */
import type { Logger } from '../../../util/logger.js';
import type { Step } from '../pipeline.js';
import { splitText } from '../split-text.js';

export function deliver(logger: Logger): Step {
  return async (context, next) => {
    const { reply, outlet, message } = context;
    if (!reply || context.signal.aborted) return next();
    const parts = splitText(reply.text, outlet.messageLimit);
    if (parts.length > 0) {
      try {
        await outlet.send(parts, reply);
      } catch (error) {
        logger.error('could not send reply', { channel: message.channelId, message: message.messageId, error });
      }
    }
    return next();
  };
}
