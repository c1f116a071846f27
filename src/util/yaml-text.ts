/**
 * YAML written by people — character files, worlds, lorebooks, the config — parsed in time linear in its length.
 * The yaml package does two things quadratically, so they are done here instead: its duplicate-key check compares
 * each key of a mapping with every other (100,000 keys took five minutes), and its pretty errors copy the whole line
 * for every error (a long line full of errors took minutes too). Nesting is measured on the syntax tree before the
 * package's recursive composer runs: 10,000 `[` would overflow the stack there.
 */
import { type CST, type Document, isMap, isScalar, isSeq, LineCounter, Parser, parseDocument } from 'yaml';
import { maxNesting, nestingProblem } from './nesting.js';

export interface YamlProblem {
  readonly reason: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
}

export type ParsedYaml =
  | {
      readonly document: Document.Parsed;
      /** Turns offsets in the text into lines and columns. */
      readonly lineCounter: LineCounter;
    }
  | { readonly problem: YamlProblem };

/** Parses the first document of `text` (a second one is a problem, as in the yaml package), or says what is wrong. */
export function parseYamlDocument(text: string): ParsedYaml {
  const position = (lineCounter: LineCounter, offset: number, reason: string): { problem: YamlProblem } => {
    const { line, col } = lineCounter.linePos(offset);
    return { problem: { reason, line, column: col } };
  };
  const treeLines = new LineCounter();
  const deep = tooDeep(text, treeLines);
  if (deep !== null) return position(treeLines, deep, `collections are nested more than ${maxNesting} levels deep`);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const problems = [
    ...document.errors.map((error) => ({ offset: error.pos[0], reason: error.message.split('\n')[0]! })),
    ...duplicateKeys(document).map((offset) => ({ offset, reason: 'Map keys must be unique' })),
  ].sort((a, b) => a.offset - b.offset);
  const first = problems[0];
  return first ? position(lineCounter, first.offset, first.reason) : { document, lineCounter };
}

/** "invalid YAML at line 3, column 11: <reason>", the way every file's errors put it. */
export function describeYamlProblem({ line, column, reason }: YamlProblem): string {
  return `invalid YAML at line ${line}, column ${column}: ${reason}`;
}

/** The document as plain data, aliases limited to 100 expansions (against "billion laughs"), or why it cannot be. */
export function yamlValue(document: Document.Parsed): { value: unknown } | { problem: string } {
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // The yaml package reports aliases that expand too far (or point nowhere) as ReferenceErrors.
    if (error instanceof ReferenceError) return { problem: error.message };
    throw error;
  }
  const problem = nestingProblem(value);
  return problem === null ? { value } : { problem };
}

/** Offset of a collection nested deeper than maxNesting, or null; found on the syntax tree, which the parser builds without recursion. */
function tooDeep(text: string, lineCounter: LineCounter): number | null {
  const stack: Array<{ token: CST.Token | undefined; depth: number }> = [];
  for (const token of new Parser(lineCounter.addNewLine).parse(text)) stack.push({ token, depth: 0 });
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (token === undefined) continue;
    if (token.type === 'document') stack.push({ token: token.value, depth });
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= maxNesting) return token.offset;
      for (const item of token.items) {
        stack.push({ token: item.key ?? undefined, depth: depth + 1 }, { token: item.value, depth: depth + 1 });
      }
    }
  }
  return null;
}

/** Offsets of keys that repeat an earlier scalar key of the same mapping, found with a set per mapping. */
function duplicateKeys(document: Document.Parsed): number[] {
  const offsets: number[] = [];
  const stack: unknown[] = [document.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (seen.has(pair.key.value)) offsets.push(pair.key.range?.[0] ?? 0);
          seen.add(pair.key.value);
        }
        stack.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return offsets;
}
