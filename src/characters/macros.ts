/**
 * The two macros a character's text may use, resolved at prompt time so one card serves every user:
 * {{char}} → the character's name, {{user}} → the name of the person being answered.
 * Matching is case-insensitive and tolerates spaces inside the braces ({{ User }}); SillyTavern's older
 * <BOT>, <CHAR> and <USER> spellings are accepted too, so imported cards work unchanged.
 * Any other {{...}} is left as it is.
 */
export interface MacroNames {
  readonly char: string;
  readonly user: string;
}

const macroPattern = /\{\{\s*(char|user)\s*\}\}|<(bot|char|user)>/gi;

export function resolveMacros(text: string, names: MacroNames): string {
  // One pass with a replacer function: a name that itself contains "{{user}}" or "$&" is inserted literally.
  return text.replace(macroPattern, (_match, braced: string | undefined, angled: string | undefined) => {
    const macro = (braced ?? angled ?? '').toLowerCase();
    return macro === 'user' ? names.user : names.char;
  });
}
