/**
 * Shared pieces of the fuzz tests (test/fuzz-*.test.ts): adversarial values and texts built from plausible inputs,
 * the check that a refusal is one of our own clear errors, and a property runner that bounds each case's time, checks
 * that no prototype was polluted, and prints how many cases it tried.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { CharacterError, ConfigError, OmoideError } from '../../src/core/errors.js';

/** No single case may take longer than this: a generous bound, far below what a hang or an exponential blow-up takes. */
export const caseTimeLimitMs = 3000;

export type Outcome = 'accepted' | 'refused';

interface Tally {
  accepted: number;
  refused: number;
}

function summary(name: string, tally: Tally): void {
  console.log(`fuzz ${name}: ${tally.accepted + tally.refused} cases (${tally.accepted} accepted, ${tally.refused} refused)`);
}

/** Checks what every case must leave behind: it took no longer than the limit, and no "__proto__" key reached a prototype. */
function finished<T>(elapsedFrom: number, outcome: T): T {
  const elapsed = performance.now() - elapsedFrom;
  if (elapsed > caseTimeLimitMs) throw new Error(`one case took ${Math.round(elapsed)} ms (limit ${caseTimeLimitMs} ms)`);
  const polluted = [Object.prototype, Array.prototype].flatMap((prototype) => Object.keys(prototype));
  if (polluted.length > 0) throw new Error(`a prototype was polluted: ${polluted.join(', ')}`);
  return outcome;
}

/** fast-check prints the whole counterexample, which may be megabytes of text: keep the start and the cause. */
function shortened(error: unknown): unknown {
  if (!(error instanceof Error) || error.message.length <= 4000) return error;
  return new Error(`${error.message.slice(0, 4000)}… (${error.message.length} characters)`, { cause: error.cause ?? error });
}

/** fc.assert over `arbitrary`; `check` says whether the input was accepted or refused, and throws when neither is right. */
export function fuzz<T>(name: string, arbitrary: fc.Arbitrary<T>, check: (input: T) => Outcome, parameters: fc.Parameters<[T]>): void {
  const tally: Tally = { accepted: 0, refused: 0 };
  try {
    fc.assert(
      fc.property(arbitrary, (input) => {
        const start = performance.now();
        tally[finished(start, check(input))]++;
      }),
      parameters,
    );
  } catch (error) {
    throw shortened(error);
  }
  summary(name, tally);
}

export async function fuzzAsync<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  check: (input: T) => Promise<Outcome>,
  parameters: fc.Parameters<[T]>,
): Promise<void> {
  const tally: Tally = { accepted: 0, refused: 0 };
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (input) => {
        const start = performance.now();
        tally[finished(start, await check(input))]++;
      }),
      parameters,
    );
  } catch (error) {
    throw shortened(error);
  }
  summary(name, tally);
}

type ErrorClass = abstract new (...args: never[]) => OmoideError;

/**
 * Runs `run`: 'accepted' when it returns (after `validate` checks the result), 'refused' when it throws one of
 * `allowed` with a message a person can act on. Anything else — a TypeError, a RangeError from a stack overflow,
 * an error of the wrong class — is rethrown, failing the property with the original error.
 */
export function attempt<T>(run: () => T, allowed: readonly ErrorClass[], validate: (value: T) => void = () => {}): Outcome {
  let value: T;
  try {
    value = run();
  } catch (error) {
    expectClearRefusal(error, allowed);
    return 'refused';
  }
  validate(value);
  return 'accepted';
}

export async function attemptAsync<T>(run: () => Promise<T>, allowed: readonly ErrorClass[], validate: (value: T) => void = () => {}): Promise<Outcome> {
  let value: T;
  try {
    value = await run();
  } catch (error) {
    expectClearRefusal(error, allowed);
    return 'refused';
  }
  validate(value);
  return 'accepted';
}

export function expectClearRefusal(error: unknown, allowed: readonly ErrorClass[]): void {
  if (!allowed.some((type) => error instanceof type)) throw error;
  const { message } = error as OmoideError;
  // "received undefined" is zod's wording for a missing field; a bare "undefined" is a value that was never set.
  if (message.trim() === '' || /\[object Object\]|(^|: )undefined\b/.test(message)) {
    throw new Error(`unclear error message: ${JSON.stringify(message.slice(0, 300))}`, { cause: error });
  }
  if (error instanceof CharacterError && (error.file === '' || error.field === '')) {
    throw new Error(`a CharacterError must name its file, and its field when it has one: ${message.slice(0, 300)}`, { cause: error });
  }
  if (error instanceof ConfigError && error.key === '') throw new Error(`a ConfigError must name its key: ${message.slice(0, 300)}`, { cause: error });
}

// ---------------------------------------------------------------------------------------------------------------
// Values.

/** Keys that break naive code: prototype names, empty, NUL, and the field names the formats use. */
export const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', '\u0000', 'name', 'data', 'entries', 'keys', 'text'),
  fc.string({ maxLength: 8 }),
);

const hugeString = fc
  .record({ length: fc.integer({ min: 10_000, max: 300_000 }), unit: fc.constantFrom('a', 'あ', '😀', ' ', '\n', '{{user}}') })
  .map(({ length, unit }) => unit.repeat(Math.ceil(length / unit.length)));

/** Text that trips parsers: lone surrogates, NUL, BOM, YAML and macro syntax, regular expressions, huge strings. */
export const nastyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '', ' ', '\u0000', '\uD800', '\uDC00x', '\uFEFF', '\r\n', '\u2028', '{{user}}', '{{char}}:', '<START>', '「', '」', '：',
      ': ', '- ', '#', '&a', '*a', '!!js/function', '%YAML 1.1', '---', '...', '\t', '\\', '"', "'", '/(a+)+$/', '/(?=x)y/',
      '/[unclosed/', 'null', 'true', '1e999', '2023-02-30', '2023-04-27', '__proto__', '你正在扮演凉宫春日', 'system_prompt', 'config',
    ),
  },
  { weight: 1, arbitrary: hugeString },
);

/** A nesting far deeper than any real file: replaced in the serialized text by `deepText` (a value cannot hold it). */
export const deepToken = fc
  // Around the limit (100), and where copying or JSON.stringify overflow the stack (a few thousand levels).
  .record({ depth: fc.oneof(fc.integer({ min: 95, max: 110 }), fc.integer({ min: 5_000, max: 8_000 })), kind: fc.constantFrom('[', '{') })
  .map(({ depth, kind }) => `@@deep${kind}${depth}@@`);

const deepTokenPattern = /["']?@@deep([[{])(\d+)@@["']?/g;

function deepText(kind: string, depth: number): string {
  return kind === '[' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

export const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    deepToken,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(nastyKey, tie('value'), { maxKeys: 3 }),
  ),
})).value;

type Mutation =
  | { readonly at: number; readonly op: 'set'; readonly value: unknown }
  | { readonly at: number; readonly op: 'delete' }
  | { readonly at: number; readonly op: 'proto'; readonly value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), op: fc.constant('set' as const), value: nastyValue }),
  fc.record({ at: fc.nat(), op: fc.constant('delete' as const) }),
  fc.record({ at: fc.nat(), op: fc.constant('proto' as const), value: nastyValue }),
);

/** Every path into `value`, the root (`[]`) first; walked without recursion. */
function pathsOf(value: unknown): (string | number)[][] {
  const paths: (string | number)[][] = [];
  const stack: { path: (string | number)[]; value: unknown }[] = [{ path: [], value }];
  while (stack.length > 0) {
    const { path, value: item } = stack.pop()!;
    paths.push(path);
    if (Array.isArray(item)) item.forEach((child, index) => stack.push({ path: [...path, index], value: child }));
    else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) stack.push({ path: [...path, key], value: child });
    }
  }
  return paths;
}

function applyMutation(root: unknown, change: Mutation): unknown {
  const paths = pathsOf(root);
  const path = paths[change.at % paths.length]!;
  if (path.length === 0) return change.op === 'set' ? change.value : root;
  let parent = root as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (change.op === 'set') parent[last] = change.value;
  else if (change.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    // An own "__proto__" key, as JSON.parse and YAML produce it (an assignment would replace the prototype instead).
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
      Object.defineProperty(target, '__proto__', { value: change.value, enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

/** A plausible value from `base` with up to `max` adversarial changes anywhere inside it. */
export function mutated<T>(base: fc.Arbitrary<T>, max = 3): fc.Arbitrary<unknown> {
  return fc
    .tuple(base, fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: max }) }))
    .map(([value, changes]) => changes.reduce<unknown>((root, change) => applyMutation(root, change), structuredClone(value)));
}

// ---------------------------------------------------------------------------------------------------------------
// Texts and bytes.

/** JSON text of `value`, with deep-nesting tokens expanded. */
export function jsonText(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(deepTokenPattern, (_, kind: string, depth: string) => deepText(kind, Number(depth)));
}

/** YAML text of `value`, with deep-nesting tokens expanded (JSON's flow syntax is YAML too). */
export function yamlText(value: unknown): string {
  return toYaml(value, { lineWidth: 0 }).replace(deepTokenPattern, (_, kind: string, depth: string) => deepText(kind, Number(depth)));
}

type TextChange =
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'insert'; readonly at: number; readonly text: string }
  | { readonly op: 'delete'; readonly at: number; readonly length: number };

const textChange: fc.Arbitrary<TextChange> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(nastyString, fc.constantFrom('\n', '\n  ', ': ', '- ', '{', '[', ']', '}', ',', '"', '\t')) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
);

/** Usually the text as it is; sometimes cut short, or with characters inserted or deleted somewhere. */
export function mutatedText(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(text, fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(textChange, { minLength: 1, maxLength: 2 }) })).map(
    ([source, changes]) =>
      changes.reduce((current, change) => {
        const at = current.length === 0 ? 0 : change.at % (current.length + 1);
        if (change.op === 'truncate') return current.slice(0, at);
        if (change.op === 'insert') return current.slice(0, at) + change.text + current.slice(at);
        return current.slice(0, at) + current.slice(at + change.length);
      }, source),
  );
}

const invalidUtf8 = fc.constantFrom([0xff], [0xc3], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]);

/** UTF-8 of the text; sometimes a byte-order mark, invalid UTF-8 bytes spliced in, or the whole text as GBK-like Latin-1. */
export function fileBytes(text: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      text,
      fc.oneof(
        { weight: 10, arbitrary: fc.constant({ kind: 'utf8' as const }) },
        { weight: 1, arbitrary: fc.constant({ kind: 'bom' as const }) },
        { weight: 1, arbitrary: fc.constant({ kind: 'latin1' as const }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalid' as const), at: fc.nat(), bytes: invalidUtf8 }) },
      ),
    )
    .map(([source, encoding]) => {
      const utf8 = Buffer.from(source, 'utf8');
      switch (encoding.kind) {
        case 'utf8':
          return utf8;
        case 'bom':
          return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8]);
        case 'latin1':
          return Buffer.from(source, 'latin1');
        case 'invalid': {
          const at = encoding.at % (utf8.length + 1);
          return Buffer.concat([utf8.subarray(0, at), Buffer.from(encoding.bytes), utf8.subarray(at)]);
        }
      }
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Plausible pieces shared by several formats.

export const words = fc.constantFrom('dragon', 'Haruhi', '凉宫春日', 'the lighthouse', '后山竹林', 'Kyon', 'SOS团', 'sword', 'moon');

/** A sentence-ish text, or an adversarial string now and then. */
export const prose = fc.oneof(
  { weight: 12, arbitrary: fc.array(words, { minLength: 1, maxLength: 6 }).map((parts) => parts.join(' ')) },
  { weight: 1, arbitrary: nastyString },
);

/** Lorebook keys: words, JavaScript-style expressions (catastrophic, unsupported and broken ones among them). */
export const lorebookKey = fc.oneof(
  { weight: 10, arbitrary: words },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '/\\bdragons?\\b/i', '/凉宫|春日/', '/(a+)+$/', '/(a|aa)+b/', '/(?<!not )happy/', '/[unclosed/', '/\\s+/', '/^Hello/m', '/a.b/s',
      '/\\Q/', '//', '/ /',
    ),
  },
  // Refused when the book is loaded.
  { weight: 1, arbitrary: fc.constantFrom('/(?=x)y/', '/(a)\\1/', '/\\p{Script=Han}/u', '/[ab]{600}[ab]{600}/', '/x/v', '/(?<n>x)\\k<n>/') },
  { weight: 1, arbitrary: nastyString },
);

export const lorebookEntry = fc.record(
  {
    keys: fc.array(lorebookKey, { maxLength: 3 }),
    content: prose,
    extensions: fc.dictionary(nastyKey, nastyValue, { maxKeys: 2 }),
    enabled: fc.boolean(),
    insertion_order: fc.integer({ min: -5, max: 200 }),
    case_sensitive: fc.boolean(),
    priority: fc.integer({ min: -5, max: 20 }),
    id: fc.oneof(fc.nat(), fc.string({ maxLength: 4 })),
    comment: prose,
    selective: fc.boolean(),
    secondary_keys: fc.array(lorebookKey, { maxLength: 2 }),
    constant: fc.boolean(),
    position: fc.constantFrom('before_char', 'after_char', 0, 1, 4, ''),
    use_regex: fc.boolean(),
  },
  { requiredKeys: ['keys', 'content'] },
);

/** A card's `character_book`. */
export const lorebook = fc.record(
  {
    name: prose,
    description: prose,
    scan_depth: fc.integer({ min: -2, max: 10 }),
    token_budget: fc.integer({ min: 0, max: 2000 }),
    recursive_scanning: fc.boolean(),
    extensions: fc.dictionary(nastyKey, nastyValue, { maxKeys: 2 }),
    entries: fc.array(lorebookEntry, { maxLength: 4 }),
  },
  { requiredKeys: ['entries'] },
);

/** A SillyTavern world-info export: entries keyed by uid with their own field names. */
export const worldInfo = fc.record({
  entries: fc.dictionary(
    fc.oneof(fc.nat({ max: 20 }).map(String), nastyKey),
    fc.record(
      {
        uid: fc.nat({ max: 20 }),
        key: fc.array(lorebookKey, { maxLength: 3 }),
        keysecondary: fc.array(lorebookKey, { maxLength: 2 }),
        comment: prose,
        content: prose,
        constant: fc.boolean(),
        selective: fc.boolean(),
        order: fc.integer({ min: 0, max: 200 }),
        disable: fc.boolean(),
        caseSensitive: fc.oneof(fc.boolean(), fc.constant(null)),
        position: fc.constantFrom(0, 1, 4),
        probability: fc.integer({ min: 0, max: 100 }),
        extensions: fc.dictionary(nastyKey, nastyValue, { maxKeys: 2 }),
      },
      { requiredKeys: ['key', 'content'] },
    ),
    { maxKeys: 4 },
  ),
});

// ---------------------------------------------------------------------------------------------------------------
// Folders.

/** Every file under `directory` (hidden ones too) with a hash of its bytes: equal snapshots mean nothing was written. */
export function snapshotFolder(directory: string): Record<string, string> {
  const files: Record<string, string> = {};
  const stack = [''];
  while (stack.length > 0) {
    const relative = stack.pop()!;
    const absolute = join(directory, relative);
    if (statSync(absolute).isDirectory()) {
      files[`${relative}/`] = 'folder';
      for (const name of readdirSync(absolute)) stack.push(relative === '' ? name : `${relative}/${name}`);
    } else {
      files[relative] = createHash('sha256').update(readFileSync(absolute)).digest('hex');
    }
  }
  return files;
}
