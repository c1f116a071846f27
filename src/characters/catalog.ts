/** The characters the bot can play, loaded from disk, with the configured default. Reloadable at run time. */
import type { CharacterError } from '../core/errors.js';
import { OmoideError } from '../core/errors.js';
import type { Character } from './character.js';
import { loadCharacters } from './load-characters.js';

export class CharacterCatalog {
  private characters = new Map<string, Character>();

  constructor(
    private readonly directory: string,
    private readonly defaultId: string,
  ) {}

  /** Loads (again) every character folder; returns the errors of those that could not be loaded. */
  reload(): CharacterError[] {
    const { characters, errors } = loadCharacters(this.directory);
    if (characters.size === 0) {
      throw new OmoideError(`no character could be loaded from ${this.directory}`, { cause: errors[0] });
    }
    this.characters = characters;
    return errors;
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
}
