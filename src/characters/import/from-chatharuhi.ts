/**
 * ChatHaruhi characters: a folder (system_prompt.txt + texts/*.txt) or a packed .jsonl (system prompt row, config
 * row, then one row per excerpt with its vector). The new folder gets character.yaml (the system prompt as the
 * description) and the script in script/ (system_prompt.txt + texts/*.txt). The jsonl's vectors are not kept: they
 * belong to an embedding model omoide does not run, and the scene index embeds the excerpts again.
 */
import { basename, extname, join } from 'node:path';
import { CharacterError } from '../../core/errors.js';
import { detectLanguage } from '../card/card-mapping.js';
import type { ScriptChunk } from '../chatharuhi/parse-texts.js';
import { parseChatHaruhiFolder, parseScriptText } from '../chatharuhi/parse-texts.js';
import { parseChatHaruhiJsonl } from '../chatharuhi/parse-jsonl.js';
import { listScriptTextFiles, maxScriptFileBytes, maxScriptFiles } from '../script-folder.js';
import { displayPath, isDirectory, isFile, mebibyte, readTextFile } from '../text-files.js';
import { characterToYaml } from './character-yaml.js';
import type { ImportPlan, PlannedFile } from './import-plan.js';

/** A jsonl carries a base64 vector on every row (8 KiB each for 1536 dimensions), so it may be larger than text. */
export const maxChatHaruhiJsonlBytes = 64 * mebibyte;

export interface ChatHaruhiImportOptions {
  /** The character's name; detected from the system prompt ("你正在扮演X", "act like X") when not given. */
  readonly name?: string;
}

const namePatterns = [
  /你正在扮演([^\s，,。.、；;：:！!？?（(「『"“]{1,20})/,
  /(?:act|acting|role-?play|respond)\s+(?:like|as)\s+([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,3})/,
];

/** The name a ChatHaruhi system prompt gives its character, or null. */
export function nameFromSystemPrompt(systemPrompt: string): string | null {
  for (const pattern of namePatterns) {
    const match = pattern.exec(systemPrompt);
    const name = match?.[1]?.replace(/[.'’-]+$/, '').trim();
    if (name) return name;
  }
  return null;
}

/** The speaker of the excerpts who is the character under a shorter or longer name (春日 for 凉宫春日), if any. */
function aliasFromScript(name: string, chunks: readonly { lines: ScriptChunk['lines'] }[]): string[] {
  const counts = new Map<string, number>();
  for (const chunk of chunks) {
    for (const line of chunk.lines) {
      if (line.kind !== 'dialogue' || !line.role || line.role === name) continue;
      if (name.includes(line.role) || line.role.includes(name)) counts.set(line.role, (counts.get(line.role) ?? 0) + 1);
    }
  }
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return best ? [best[0]] : [];
}

function characterYaml(
  name: string,
  aliases: string[],
  systemPrompt: string,
  sample: string,
  source: string,
  chatharuhi: Record<string, unknown>,
): string {
  return characterToYaml(
    {
      name,
      aliases,
      // The excerpts are the character's own speech: they say best which language the character speaks.
      language: detectLanguage(sample, systemPrompt),
      description: systemPrompt,
      personality: '',
      scenario: '',
      greeting: null,
      alternateGreetings: [],
      exampleDialogues: [],
      systemPrompt: '',
      postHistoryInstructions: '',
      tags: ['chatharuhi'],
      creator: '',
      characterVersion: '',
      extensions: { chatharuhi },
    },
    `Imported by omoide from ChatHaruhi ${basename(source)}; the script is in script/.`,
  );
}

function requireSystemPrompt(systemPrompt: string, file: string): string {
  if (systemPrompt.trim() === '') throw new CharacterError(file, null, 'the system prompt is empty; it is the character\'s description');
  return systemPrompt.trim();
}

function sampleOf(texts: readonly string[]): string {
  return texts.slice(0, 50).join('\n').slice(0, 20_000);
}

export function planChatHaruhiFolder(directory: string, options: ChatHaruhiImportOptions = {}): ImportPlan {
  const promptPath = join(directory, 'system_prompt.txt');
  const textsPath = join(directory, 'texts');
  if (!isFile(promptPath)) throw new CharacterError(displayPath(promptPath), null, 'missing: a ChatHaruhi folder needs system_prompt.txt');
  if (!isDirectory(textsPath)) throw new CharacterError(displayPath(textsPath), null, 'missing: a ChatHaruhi folder needs a texts/ folder');
  // Sizes and encodings first, with our limits and messages, before the parser reads everything.
  readTextFile(promptPath, maxScriptFileBytes, 'a script file');
  const names = listScriptTextFiles(textsPath);
  if (names.length > maxScriptFiles) {
    throw new CharacterError(displayPath(textsPath), null, `${names.length} files; a script may have at most ${maxScriptFiles}`);
  }
  for (const name of names) readTextFile(join(textsPath, name), maxScriptFileBytes, 'a script file');
  const parsed = parseChatHaruhiFolder(directory);
  const systemPrompt = requireSystemPrompt(parsed.systemPrompt, displayPath(promptPath));
  const name = options.name?.trim() || nameFromSystemPrompt(systemPrompt) || basename(directory);
  const files: PlannedFile[] = [
    {
      path: 'character.yaml',
      content: characterYaml(name, aliasFromScript(name, parsed.chunks), systemPrompt, sampleOf(parsed.chunks.map((chunk) => chunk.text)), directory, {
        format: 'folder',
      }),
    },
    { path: 'script/system_prompt.txt', copyFrom: promptPath },
    ...names.map((file): PlannedFile => ({ path: `script/texts/${file}`, copyFrom: join(textsPath, file) })),
  ];
  const warnings = parsed.chunks.length === 0 ? ['texts/ has no non-empty excerpt'] : [];
  return { format: 'chatharuhi-folder', name, idHints: [name, basename(directory)], files, warnings };
}

export function planChatHaruhiJsonl(path: string, options: ChatHaruhiImportOptions = {}): ImportPlan {
  const shown = displayPath(path);
  const text = readTextFile(path, maxChatHaruhiJsonlBytes, 'a ChatHaruhi jsonl file', shown);
  const parsed = parseChatHaruhiJsonl(text, shown);
  const systemPrompt = requireSystemPrompt(parsed.systemPrompt, shown);
  if (parsed.chunks.length > maxScriptFiles) {
    throw new CharacterError(shown, null, `${parsed.chunks.length} excerpts; a script may have at most ${maxScriptFiles}`);
  }
  const stem = basename(path, extname(path));
  const name = options.name?.trim() || nameFromSystemPrompt(systemPrompt) || stem;
  const chunks = parsed.chunks.map((chunk, index) => parseScriptText(chunk.text, `text_${index}.txt`));
  const chatharuhi: Record<string, unknown> = { format: 'jsonl', embedding_column: parsed.embeddingColumn };
  if (parsed.config !== null) chatharuhi.config = parsed.config;
  const files: PlannedFile[] = [
    { path: 'character.yaml', content: characterYaml(name, aliasFromScript(name, chunks), systemPrompt, sampleOf(chunks.map((chunk) => chunk.text)), path, chatharuhi) },
    { path: 'script/system_prompt.txt', content: `${systemPrompt}\n` },
    ...parsed.chunks.map((chunk, index): PlannedFile => ({ path: `script/texts/text_${index}.txt`, content: chunk.text })),
  ];
  return { format: 'chatharuhi-jsonl', name, idHints: [name, stem], files, warnings: [] };
}
