/** What an importer produces before anything is written: the files of the new character folder. */
export type ImportFormat = 'card-png' | 'card-json' | 'chatharuhi-folder' | 'chatharuhi-jsonl' | 'omoide-folder';

export type PlannedFile =
  | { readonly path: string; readonly content: string | Uint8Array }
  /** Copied byte for byte (ChatHaruhi excerpts, a whole omoide folder). */
  | { readonly path: string; readonly copyFrom: string };

export interface ImportPlan {
  readonly format: ImportFormat;
  /** The character's name, for the id when none is given (null for an omoide folder, which keeps its own). */
  readonly name: string | null;
  /** Ids to try, in order, when --id is not given; the first that slugifies to something is used. */
  readonly idHints: readonly string[];
  /** Paths relative to the new character folder ('' + copyFrom = copy a whole folder). */
  readonly files: readonly PlannedFile[];
  readonly warnings: readonly string[];
}

/** Lowercase a-z, digits and "-": "Captain Ortega" → "captain-ortega"; text with no Latin letters gives ''. */
export function slugifyId(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}
