/**
 * Near-duplicate text: two memories or scenes that say the same thing up to case, spacing and punctuation. Compared
 * by the Jaccard similarity of their character bigrams, which works alike for Chinese and English.
 */

/** The character bigrams of a text (a one-character text is its own gram), lowercased, width-folded, letters and digits only. */
export function bigramSet(text: string): Set<string> {
  const characters = Array.from(text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ''));
  const set = new Set<string>();
  if (characters.length === 1) set.add(characters[0]!);
  for (let index = 0; index + 1 < characters.length; index++) set.add(characters[index]! + characters[index + 1]!);
  return set;
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const gram of a) if (b.has(gram)) shared++;
  return shared / (a.size + b.size - shared);
}
