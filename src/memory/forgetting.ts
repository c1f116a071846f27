/**
 * The forgetting curve, as the MemoryBank paper states it (Ebbinghaus): retention R = e^(−t / S), here with a
 * per-kind time constant c in days, R = e^(−t / (c·S)).
 *
 * - t: days since the memory was last recalled (or since it happened, if never recalled);
 * - S: strength, 1 when stored, +1 each time the memory makes it into a prompt, so recalled memories fade slower;
 * - c: how many days one unit of strength lasts for this kind (turns fade fastest; summaries and facts slower).
 *
 * MemoryBank's released code computes `math.exp(-t / 5*S)`, which parses as e^(−(t/5)·S): there a stronger memory
 * fades FASTER. test/memory-forgetting.test.ts pins the intended direction.
 */

const dayMs = 86_400_000;

/** R = e^(−t / (c·S)), in (0, 1]. A negative t (clock skew, a replayed past) counts as "just now". */
export function retention(tDays: number, strength: number, c: number): number {
  if (!(strength > 0) || !(c > 0)) throw new RangeError(`retention needs strength > 0 and c > 0, got S=${strength}, c=${c}`);
  const t = Math.max(0, tDays);
  return Math.exp(-t / (c * strength));
}

/** Days between two epoch-ms instants, fractional. */
export function daysBetween(fromMs: number, toMs: number): number {
  return (toMs - fromMs) / dayMs;
}

/** The strength after one more recall (MemoryBank: S += 1, and t restarts from the recall). */
export function strengthenedStrength(strength: number): number {
  return strength + 1;
}
