/**
 * `npm start`: load the config, build the app, start every adapter whose credentials are configured — or the
 * terminal chat when none is — and stop in reverse order on SIGINT/SIGTERM.
 */
import { join } from 'node:path';
import { runConsoleChat } from './adapters/console/console-chat.js';
import { createApp } from './app.js';
import type { OmoideConfig } from './config.js';
import { createLogger, logToFile } from './util/logger.js';

const logger = createLogger('main');

export async function runService(config: OmoideConfig): Promise<void> {
  const interactive = Boolean(process.stdin.isTTY);
  if (interactive) logToFile(join(config.dataDir, 'omoide.log'));
  const app = createApp(config);
  for (const error of app.characterErrors) logger.warn('character not loaded', { error: error.message });
  try {
    await runConsoleChat({
      engine: app.engine,
      characters: app.characters,
      translator: app.translator,
      chatModel: app.chatModel,
      clock: app.clock,
      userName: process.env.USER || 'you',
      input: process.stdin,
      output: process.stdout,
      interactive,
    });
  } finally {
    await app.close();
  }
}
