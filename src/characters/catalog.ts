/** The characters the bot can play and the worlds they live in, loaded from disk, with the configured default. Reloadable at run time. */
import { relative } from 'node:path';
import type { CharacterError } from '../core/errors.js';
import { OmoideError } from '../core/errors.js';
import type { Character } from './character.js';
import { loadCharacters } from './load-characters.js';
import type { World } from './world.js';

export class CharacterCatalog {
  private characters = new Map<string, Character>();
  private worlds = new Map<string, World>();

  constructor(
    private readonly directory: string,
    private readonly defaultId: string,
  ) {}

  /** Loads (again) every character folder and world; returns the errors of those that could not be loaded. */
  reload(): CharacterError[] {
    const { characters, worlds, errors } = loadCharacters(this.directory);
    if (characters.size === 0) {
      throw new OmoideError(`no character could be loaded from ${this.directory}`, { cause: errors[0] });
    }
    this.characters = characters;
    this.worlds = worlds;
    return errors;
  }

  /** A loading error as people in a chat may read it: the file named from the characters folder, not the disk's root. */
  describeError(error: CharacterError): string {
    const file = relative(this.directory, error.file) || error.file;
    return error.field ? `${file}: field "${error.field}": ${error.problem}` : `${file}: ${error.problem}`;
  }

  get(id: string): Character | undefined {
    return this.characters.get(id);
  }

  list(): Character[] {
    return [...this.characters.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The configured default, or the first character when that one failed to load. */
  defaultCharacter(): Character {
    return this.characters.get(this.defaultId) ?? this.list()[0]!;
  }

  /** A world by id (`_worlds/<id>.yaml`); undefined when it does not exist or failed to load. */
  world(id: string): World | undefined {
    return this.worlds.get(id);
  }

  /** The world a character lives in, or null when it has none (or its world could not be loaded). */
  worldOf(character: Character): World | null {
    return character.worldId === null ? null : (this.worlds.get(character.worldId) ?? null);
  }

  listWorlds(): World[] {
    return [...this.worlds.values()].sort((a, b) => a.id.localeCompare(b.id));
  }
}
