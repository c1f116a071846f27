/**
 * "Typing…" where the platform shows it: from the moment generation starts until the reply is sent, renewed at the
 * platform's interval (Discord shows it for about 10 s); never started again once stopped.
 */
import type { Logger } from '../../../util/logger.js';
import type { Step } from '../pipeline.js';

export function showTyping(logger: Logger): Step {
  return async (context, next) => {
    const typing = context.outlet.typing;
    if (!typing) return next();
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const show = () => {
      typing.show().catch((error: unknown) => logger.debug('typing indicator failed', { error }));
    };
    context.onTyping = () => {
      if (stopped || timer) return;
      show();
      timer = setInterval(show, typing.intervalMs);
    };
    try {
      await next();
    } finally {
      stopped = true;
      clearInterval(timer);
    }
  };
}
