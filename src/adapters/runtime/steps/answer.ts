/** The engine answers the message as the character of its channel. */
import type { Engine } from '../../../engine/engine.js';
import type { Step } from '../pipeline.js';

export function answerWith(engine: Pick<Engine, 'answer'>): Step {
  return async (context, next) => {
    context.reply = await engine.answer(context.message, {
      character: context.character,
      signal: context.signal,
      ...(context.onTyping ? { onTyping: context.onTyping } : {}),
    });
    return next();
  };
}
