/**
 * How deep parsed data may nest. No file a person writes (a card, a lorebook, a character, the config) comes close;
 * the code that copies data or writes it out (structuredClone, JSON.stringify, yaml) recurses, and overflows the
 * stack a few thousand levels down.
 */
export const maxNesting = 100;

/**
 * Why `value` cannot be used as plain data, or null: it nests deeper than maxNesting, or it contains itself (a YAML
 * alias used inside its own anchor, `loop: &x [*x]`). Walked without recursion, so any depth is safe to check.
 */
export function nestingProblem(value: unknown): string | null {
  // `open` holds the containers on the current path: a container met again while open contains itself, while one met
  // again after it was left is only shared (an alias used twice), which is fine.
  const open = new Set<object>();
  const stack: Array<{ node: unknown; depth: number } | { leave: object }> = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('leave' in item) {
      open.delete(item.leave);
      continue;
    }
    const { node, depth } = item;
    if (node === null || typeof node !== 'object') continue;
    if (open.has(node)) return 'a value contains itself (a YAML alias used inside its own anchor, like `loop: &x [*x]`)';
    // The outermost container is at depth 0: at most maxNesting levels, as in the YAML syntax tree (yaml-text.ts).
    if (depth >= maxNesting) return `the data is nested more than ${maxNesting} levels deep`;
    open.add(node);
    stack.push({ leave: node });
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return null;
}
