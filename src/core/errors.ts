/** The one base class: every error omoide raises on purpose is an OmoideError with data a caller can act on. */
export class OmoideError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or has the wrong shape; `key` is the dotted path into the config. */
export class ConfigError extends OmoideError {
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly source: string,
  ) {
    super(`${source}: ${key}: ${expected}`);
  }
}

/** A character file could not be used; `file` and `field` say exactly where. */
export class CharacterError extends OmoideError {
  constructor(
    readonly file: string,
    readonly field: string | null,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(field ? `${file}: field "${field}": ${problem}` : `${file}: ${problem}`, options);
  }
}

/** Input a user or file gave us that we refuse, with the reason in plain words. */
export class InputError extends OmoideError {}

/** Something the store refused (a database newer than the code, a broken invariant). */
export class StoreError extends OmoideError {}
