/** The `omoide` command line: each subcommand is a thin shell over the same app the service runs. */
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { runConsoleChat } from '../adapters/console/console-chat.js';
import { createApp } from '../app.js';
import { CharacterCatalog } from '../characters/catalog.js';
import type { Character } from '../characters/character.js';
import type { ExportFormat } from '../characters/export/export-character.js';
import { exportCharacter, exportFormats } from '../characters/export/export-character.js';
import type { ImportResult } from '../characters/import/import-character.js';
import { importCharacter } from '../characters/import/import-character.js';
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

/** Only many files are worth a bar, and only on a terminal: piped stderr stays clean for logs. */
const progressThreshold = 20;

function createProgress(label: string): { update: (done: number, total: number) => void; stop: () => void } {
  let bar: cliProgress.SingleBar | null = null;
  return {
    update(done, total) {
      if (!process.stderr.isTTY || total < progressThreshold) return;
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {value}/{total} files`, clearOnComplete: true, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
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
    .action((path: string, options: { id?: string; name?: string; force?: boolean }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const progress = createProgress('importing');
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
