/**
 * A small deterministic generator (mulberry32): the same sequence for the same seed on every machine, for what
 * must not change between runs (the vector code's hyperplanes, benchmark fills, property tests that replay).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
