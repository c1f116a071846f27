/**
 * Rank fusion: several ranked lists (vector nearest, full-text BM25, ...) become one ranking by reciprocal rank
 * (Cormack, Clarke & Büttcher, 2009): an item gains 1 / (k + rank) from each list it is in. Ranks, not scores, so
 * lists with incomparable scores combine, and k damps how much being first in one list counts.
 */

/** The constant memory retrieval and most hybrid search use. */
export const defaultRrfK = 60;

/** What one list gives the item at `rank` (1-based). */
export function reciprocalRank(rank: number, k: number = defaultRrfK): number {
  return 1 / (k + rank);
}

/** Each item's fused score over the lists (each best first); an item may be missing from some lists. */
export function fuseRanks<Id>(lists: readonly (readonly Id[])[], k: number = defaultRrfK): Map<Id, number> {
  const fused = new Map<Id, number>();
  for (const list of lists) {
    list.forEach((id, index) => fused.set(id, (fused.get(id) ?? 0) + reciprocalRank(index + 1, k)));
  }
  return fused;
}
