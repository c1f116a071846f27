/** The `omoide` command line: each subcommand is a thin shell over the same app the service runs. */
import { Command } from 'commander';
import { runConsoleChat } from '../adapters/console/console-chat.js';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { OmoideError } from '../core/errors.js';
import { logToFile, setLogLevel } from '../util/logger.js';
import { join } from 'node:path';
import { runService } from '../main.js';

interface GlobalOptions {
  config?: string;
  dataDir?: string;
}

function configFrom(options: GlobalOptions) {
  const env = { ...process.env };
  if (options.dataDir) env.OMOIDE_DATA_DIR = options.dataDir;
  const config = loadConfig({ ...(options.config ? { path: options.config } : {}), env });
  setLogLevel(config.logLevel);
  return config;
}

export function buildCli(): Command {
  const program = new Command()
    .name('omoide')
    .description('Role-playing characters that remember every person they talk to.')
    .option('-c, --config <path>', 'config file (default: ./config.yaml, or $OMOIDE_CONFIG)')
    .option('-d, --data-dir <dir>', 'data directory (default: ./data, or $OMOIDE_DATA_DIR)')
    .showHelpAfterError();

  program
    .command('start')
    .description('run the service: every configured platform, or the terminal chat when none is')
    .action(async () => {
      await runService(configFrom(program.opts<GlobalOptions>()));
    });

  program
    .command('chat')
    .description('chat in the terminal as one person (a private, DM-like conversation)')
    .option('--character <id>', 'the character to talk to')
    .option('--user <name>', 'who you are; different names are different people', process.env.USER || 'you')
    .action(async (options: { character?: string; user: string }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const interactive = Boolean(process.stdin.isTTY);
      // The terminal belongs to the conversation; logs go to a file beside the database.
      if (interactive) logToFile(join(config.dataDir, 'omoide.log'));
      const app = createApp(config);
      try {
        for (const error of app.characterErrors) process.stderr.write(`warning: ${error.message}\n`);
        if (options.character && !app.characters.get(options.character)) {
          throw new OmoideError(`unknown character "${options.character}"; available: ${app.characters.list().map((c) => c.id).join(', ')}`);
        }
        await runConsoleChat({
          engine: app.engine,
          characters: app.characters,
          translator: app.translator,
          chatModel: app.chatModel,
          clock: app.clock,
          userName: options.user,
          ...(options.character ? { characterId: options.character } : {}),
          input: process.stdin,
          output: process.stdout,
          interactive,
        });
      } finally {
        await app.close();
      }
    });

  const character = program.command('character').description('manage characters');
  character
    .command('list')
    .description('show the characters that are loaded')
    .action(() => {
      const config = configFrom(program.opts<GlobalOptions>());
      const app = createApp(config);
      try {
        for (const c of app.characters.list()) {
          const marker = c.id === app.characters.defaultCharacter().id ? '*' : ' ';
          process.stdout.write(`${marker} ${c.id.padEnd(16)} ${c.name} (${c.language})\n`);
        }
        for (const error of app.characterErrors) process.stdout.write(`! ${error.message}\n`);
      } finally {
        void app.close();
      }
    });

  return program;
}

export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await buildCli().parseAsync([...argv]);
  } catch (error) {
    // Known failures are one clear line; anything else is a bug worth its stack.
    if (error instanceof OmoideError) {
      process.stderr.write(`omoide: ${error.message}\n`);
      process.exitCode = 1;
    } else throw error;
  }
}
