/** The `omoide` command line: each subcommand is a thin shell over the same app the service runs. */
import { Command, Option } from 'commander';
import { consoleChannelId, consolePlatform } from '../adapters/console/console-chat.js';
import { createApp } from '../app.js';
import { CharacterCatalog } from '../characters/catalog.js';
import type { Character } from '../characters/character.js';
import type { ExportFormat } from '../characters/export/export-character.js';
import { exportCharacter, exportFormats } from '../characters/export/export-character.js';
import type { ImportResult } from '../characters/import/import-character.js';
import { importCharacter } from '../characters/import/import-character.js';
import { loadConfig } from '../config.js';
import { InputError, OmoideError } from '../core/errors.js';
import { platformNames } from '../core/message.js';
import { importMemoryBank } from '../memory/import/memorybank-import.js';
import { createLogger, logToFile, setLogLevel } from '../util/logger.js';
import { createProgress, reembedProgressBar } from '../util/progress.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runService, runTerminalChat } from '../main.js';

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

/** ", world rainy-town, lorebook 3 entries, script 172 chunks" — only what the character has. */
function describeExtras(character: Character, catalog: CharacterCatalog | null): string {
  const parts: string[] = [];
  if (character.worldId !== null) {
    const missing = catalog !== null && catalog.worldOf(character) === null;
    parts.push(`world ${character.worldId}${missing ? ' (not loaded)' : ''}`);
  }
  const entries = character.lorebook?.entries.length ?? 0;
  if (entries > 0) parts.push(`lorebook ${entries} ${entries === 1 ? 'entry' : 'entries'}`);
  if (character.script) parts.push(`script ${character.script.chunkCount} ${character.script.chunkCount === 1 ? 'chunk' : 'chunks'}`);
  return parts.length > 0 ? `, ${parts.join(', ')}` : '';
}

/** --platform, by the name each platform has everywhere (what the live adapters store people under). */
function platformOption(description: string): Option {
  return new Option('--platform <platform>', description).choices([...platformNames]).default(consolePlatform);
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
      // Everything is stopped and the database closed. Some platform libraries leave timers behind (the OneBot
      // adapter keeps a 30 s timeout per action it sent); they must not hold the process after a clean shutdown.
      setTimeout(() => process.exit(), 1000).unref();
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
      const app = await createApp(config, { onReembedProgress: reembedProgressBar() });
      try {
        for (const error of app.characterErrors) process.stderr.write(`warning: ${error.message}\n`);
        if (options.character && !app.characters.get(options.character)) {
          throw new OmoideError(`unknown character "${options.character}"; available: ${app.characters.list().map((c) => c.id).join(', ')}`);
        }
        await runTerminalChat(app, { userName: options.user, ...(options.character ? { characterId: options.character } : {}), interactive });
      } finally {
        await app.close();
      }
    });

  const character = program.command('character').description('manage characters');
  character
    .command('list')
    .description('show the characters that are loaded, with their world, lorebook and script')
    .action(() => {
      const config = configFrom(program.opts<GlobalOptions>());
      // Only the files are read: listing needs no database and no model.
      const catalog = new CharacterCatalog(config.charactersDir, config.defaultCharacter);
      const errors = catalog.reload();
      for (const c of catalog.list()) {
        const marker = c.id === catalog.defaultCharacter().id ? '*' : ' ';
        process.stdout.write(`${marker} ${c.id.padEnd(16)} ${c.name} (${c.language})${describeExtras(c, catalog)}\n`);
      }
      for (const error of errors) process.stdout.write(`! ${error.message}\n`);
    });

  character
    .command('import')
    .description('import a character card (.png, .json), a ChatHaruhi folder or .jsonl, or an omoide character folder')
    .argument('<path>', 'the card file, .jsonl file or folder to import')
    .option('--id <id>', 'the new character id (default: from the name)')
    .option('--name <name>', "ChatHaruhi only: the character's name (default: from the system prompt)")
    .option('--force', 'replace a character that has the same id')
    .action(async (path: string, options: { id?: string; name?: string; force?: boolean }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const progress = createProgress('importing', 'files');
      let result: ImportResult;
      try {
        result = importCharacter(path, {
          charactersDir: config.charactersDir,
          ...(options.id !== undefined ? { id: options.id } : {}),
          ...(options.name !== undefined ? { name: options.name } : {}),
          force: options.force === true,
          onProgress: progress.update,
        });
      } finally {
        progress.stop();
      }
      for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
      const c = result.character;
      if (c.script) {
        // Embed and index the script now, once, rather than on the character's first message.
        const indexing = createProgress(`indexing ${c.id}'s script`, 'chunks');
        try {
          const app = await createApp(config, { onScriptIndexProgress: (id, done, total) => id === c.id && indexing.update(done, total) });
          await app.close();
        } finally {
          indexing.stop();
        }
      }
      process.stdout.write(
        `${result.replaced ? 'replaced' : 'imported'} ${c.id}: ${c.name} (${c.language}) from ${result.format}${describeExtras(c, null)} → ${result.directory}\n`,
      );
    });

  character
    .command('export')
    .description('export a character as a card (V2 or V3 JSON, PNG) or a copy of its folder')
    .argument('<id>', 'the character to export')
    .addOption(new Option('--format <format>', 'what to write').choices([...exportFormats]).makeOptionMandatory())
    .requiredOption('--out <path>', 'the file (or folder) to write')
    .option('--force', 'overwrite --out when it exists')
    .action((id: string, options: { format: ExportFormat; out: string; force?: boolean }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const result = exportCharacter({ charactersDir: config.charactersDir, id, format: options.format, out: options.out, force: options.force === true });
      process.stdout.write(`exported ${result.character.id} as ${result.format} → ${result.out}\n`);
    });

  const memoryCommand = program.command('memory').description("import and export what the bot remembers of people");
  memoryCommand
    .command('import')
    .description('import dated dialogue as memories (a MemoryBank memory.json): one transaction, safe to repeat')
    .argument('<file>', 'the file to import')
    .addOption(new Option('--format <format>', 'the file format').choices(['memorybank']).default('memorybank'))
    .requiredOption('--character <id>', 'the character who had these conversations')
    .addOption(platformOption('where the people live: console (the terminal), discord or qq'))
    .option('--guild <id>', 'their Discord server or QQ group')
    .action(async (file: string, options: { format: 'memorybank'; character: string; platform: string; guild?: string }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const app = await createApp(config, { onReembedProgress: reembedProgressBar() });
      const progress = createProgress('embedding', 'memories');
      try {
        const character = app.characters.get(options.character);
        if (!character) {
          throw new InputError(`unknown character "${options.character}"; available: ${app.characters.list().map((c) => c.id).join(', ')}`);
        }
        const inTerminal = options.platform === consolePlatform;
        const result = await importMemoryBank({
          db: app.db,
          store: app.store,
          memory: app.memory,
          character,
          file,
          timeZone: config.memory.timezone,
          platform: options.platform,
          guildId: inTerminal ? null : (options.guild ?? null),
          channelId: inTerminal ? consoleChannelId : (name) => `import:${name}`,
          onProgress: progress.update,
          logger: createLogger('import'),
        });
        progress.stop();
        process.stdout.write(
          `imported ${result.people} people for ${character.id}: ${result.dialogueImported} dialogue turns` +
            `${result.dialogueSkipped > 0 ? ` (${result.dialogueSkipped} already there)` : ''}, ` +
            `${result.summariesImported} summaries, ${result.portraitsImported} portraits\n`,
        );
      } finally {
        progress.stop();
        await app.close();
      }
    });

  memoryCommand
    .command('export')
    .description("write one person's memories as JSON (to stdout, or --out)")
    .requiredOption('--user <name>', 'the person: their terminal name, or their platform user id with --platform')
    .option('--character <id>', 'only what this character remembers')
    .addOption(platformOption('console (the terminal), discord or qq'))
    .option('--out <file>', 'the file to write (default: stdout)')
    .action(async (options: { user: string; character?: string; platform: string; out?: string }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const app = await createApp(config);
      try {
        const userId = app.store.findUserId(options.platform, options.user);
        if (userId === null) throw new InputError(`no ${options.platform} user "${options.user}" has talked to omoide`);
        const everything = app.memory.exportUser(userId);
        const exported = {
          ...everything,
          platform: options.platform,
          user: options.user,
          scopes: everything.scopes.filter((scope) => options.character === undefined || scope.characterId === options.character),
        };
        const json = `${JSON.stringify(exported, null, 2)}\n`;
        if (options.out) {
          writeFileSync(options.out, json);
          const count = exported.scopes.reduce((sum, scope) => sum + scope.memories.length, 0);
          process.stdout.write(`exported ${count} memories of ${options.user} → ${options.out}\n`);
        } else process.stdout.write(json);
      } finally {
        await app.close();
      }
    });

  program
    .command('consolidate')
    .description('consolidate memories now: summaries, portraits, self-concept, forgetting (what the schedule does)')
    .option('--user <name>', 'only this person: their terminal name, or their platform user id with --platform')
    .addOption(platformOption('the platform of --user: console, discord or qq'))
    .option('--character <id>', 'only what this character remembers')
    .option('--retry-failed', 'give jobs that failed or were skipped a fresh set of tries')
    .action(async (options: { user?: string; platform: string; character?: string; retryFailed?: boolean }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const app = await createApp(config, { onReembedProgress: reembedProgressBar() });
      const progress = createProgress('consolidating', 'jobs', 1);
      try {
        let userId: number | undefined;
        if (options.user !== undefined) {
          const found = app.store.findUserId(options.platform, options.user);
          if (found === null) throw new InputError(`no ${options.platform} user "${options.user}" has talked to omoide`);
          userId = found;
        }
        if (options.character !== undefined && !app.characters.get(options.character)) {
          throw new InputError(`unknown character "${options.character}"; available: ${app.characters.list().map((c) => c.id).join(', ')}`);
        }
        const result = await app.consolidator.runDue({
          ...(userId !== undefined ? { userId } : {}),
          ...(options.character !== undefined ? { characterId: options.character } : {}),
          retryFailed: options.retryFailed === true,
          onProgress: ({ done, total }) => progress.update(done, total),
        });
        progress.stop();
        process.stdout.write(`consolidated: ${result.jobs} jobs, ${result.done} done, ${result.failed} failed, ${result.skipped} skipped\n`);
        if (result.failed > 0) process.stdout.write('failed jobs are retried by the next run (see the log for why they failed)\n');
      } finally {
        progress.stop();
        await app.close();
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
