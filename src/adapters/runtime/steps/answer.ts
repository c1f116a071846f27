/**
 * The engine answers the message as the character of its channel. This is the message's error boundary: when
 * answering fails (the model's own failures are already an apology from the engine; this is anything else), the
 * failure is logged and the person gets the character's localized apology instead of silence. A message reached only
 * after the runtime was stopped is not answered at all.
 */
import type { Engine } from '../../../engine/engine.js';
import type { Logger } from '../../../util/logger.js';
import type { Step } from '../pipeline.js';

export function answerWith(engine: Pick<Engine, 'answer' | 'apology'>, logger: Logger): Step {
  return async (context, next) => {
    if (context.signal.aborted) return;
    const { message } = context;
    try {
      context.reply = await engine.answer(message, {
        character: context.character,
        signal: context.signal,
        ...(context.onTyping ? { onTyping: context.onTyping } : {}),
      });
    } catch (error) {
      if (context.signal.aborted) throw error;
      logger.error('message failed', { platform: message.platform, channel: message.channelId, message: message.messageId, error });
      context.reply = engine.apology(context.character, error);
    }
    return next();
  };
}
