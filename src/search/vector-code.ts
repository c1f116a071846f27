/**
 * How memory and script vectors are stored (store/vector-table.ts): a SimHash code to shortlist by, and the vector in
 * half floats to re-score the shortlist.
 *
 * Why a shortlist: sqlite-vec 0.1.9 as shipped for Linux has no SIMD, so its float cosine scan costs ~0.6 µs per
 * 384-d vector, 6 ms for one person's 10k memories. Of its distances only Hamming (bit vectors) and L1 (int8) run
 * several times faster, and only Hamming over random-hyperplane signs tracks cosine: the fraction of differing bits
 * estimates the angle between two vectors (Charikar's SimHash), for dense model embeddings and for the builtin
 * embedder's sparse hashed n-grams alike. L1 over int8 codes looked as good on uniform synthetic turns and kept
 * 10-12% of the true top 5 on real dialogue: it ranks short texts first. Measured on MemoryBank turns, ChatHaruhi
 * lines and synthetic turns (10k in one scope; npm run bench:memory, b'), re-scoring the 60 nearest 2048-bit codes
 * keeps 97.6% of the exact top 5 and 93.9% of the top 10, for a third of the former float scan's time.
 *
 * The hyperplanes are a structured random rotation (two rounds of random signs and a Walsh-Hadamard transform per
 * block, the SRHT), so coding costs O(d log d) rather than O(d × bits): ~0.07 ms per vector. They are fixed by the
 * seed below: changing them changes every stored code — memories then need a new vectorLayout
 * (store/embedding-space-store.ts), and script indexes a migration that forgets them, as 0080 did.
 */
import { seededRandom } from '../util/seeded-random.js';

/** Bits of every code: the shortlist's quality rises with them, the scan's cost a little. */
const minimumCodeBits = 2048;
const rounds = 2;
const signSeed = 0x5eed_0001;

/** The width of one block: the vector's dimension padded to a power of two. */
function blockWidth(dimension: number): number {
  let width = 1;
  while (width < dimension) width *= 2;
  return width;
}

/** How many bits a code of vectors of this dimension has (a whole number of blocks, a multiple of 8). */
export function codeBits(dimension: number): number {
  const width = blockWidth(dimension);
  return Math.max(width, Math.ceil(minimumCodeBits / width) * width, 8);
}

const signCache = new Map<number, Float64Array[]>();

/** ±1 per (block, round, position), from a fixed seed: the same hyperplanes on every machine. */
function signsFor(width: number, blocks: number): Float64Array[] {
  const key = width * 65536 + blocks;
  let signs = signCache.get(key);
  if (!signs) {
    const random = seededRandom(signSeed);
    signs = Array.from({ length: blocks * rounds }, () => Float64Array.from({ length: width }, () => (random() < 0.5 ? 1 : -1)));
    signCache.set(key, signs);
  }
  return signs;
}

/** In-place fast Walsh-Hadamard transform (unnormalized: only signs are kept). */
function walshHadamard(values: Float64Array): void {
  for (let half = 1; half < values.length; half *= 2) {
    for (let start = 0; start < values.length; start += 2 * half) {
      for (let index = start; index < start + half; index++) {
        const left = values[index]!;
        const right = values[index + half]!;
        values[index] = left + right;
        values[index + half] = left - right;
      }
    }
  }
}

/** The SimHash code of a vector, for a `bit[codeBits(d)]` vec0 column: bit i set when projection i is positive. */
export function simHashCode(vector: Float32Array): Uint8Array {
  const width = blockWidth(vector.length);
  const bits = codeBits(vector.length);
  const blocks = bits / width;
  const signs = signsFor(width, blocks);
  const code = new Uint8Array(bits / 8);
  const work = new Float64Array(width);
  for (let block = 0; block < blocks; block++) {
    work.fill(0);
    work.set(vector);
    for (let round = 0; round < rounds; round++) {
      const roundSigns = signs[block * rounds + round]!;
      for (let index = 0; index < width; index++) work[index] = work[index]! * roundSigns[index]!;
      walshHadamard(work);
    }
    for (let index = 0; index < width; index++) {
      if (work[index]! > 0) {
        const bit = block * width + index;
        code[bit >>> 3] = code[bit >>> 3]! | (1 << (bit & 7));
      }
    }
  }
  return code;
}

/**
 * Exact vectors are kept as IEEE half floats: a 384-d vector takes 768 bytes instead of 1,536, so five fit a 4 KiB
 * page instead of two. Half precision (11 significant bits) moves a cosine by ~1e-3 at most, far below the gaps
 * that decide a ranking.
 */
export function toHalfFloats(vector: Float32Array): Uint8Array {
  const bytes = new Uint8Array(vector.length * 2);
  const single = new Float32Array(1);
  const bits = new Uint32Array(single.buffer);
  for (let index = 0; index < vector.length; index++) {
    single[0] = vector[index]!;
    const half = halfOf(bits[0]!);
    bytes[2 * index] = half & 0xff; // little-endian, whatever the machine
    bytes[2 * index + 1] = half >>> 8;
  }
  return bytes;
}

/** float32 bits → float16 bits, rounding to nearest even; overflow becomes infinity, NaN stays NaN. */
function halfOf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // below the smallest subnormal
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++; // may carry into the exponent, which is right
  return sign | half;
}

let halfTable: Float32Array | null = null;

/** Every float16 bit pattern's value, built once: decoding is then one lookup per component. */
function halfValues(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[bits] = mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else table[bits] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  halfTable = table;
  return table;
}

/** The vector stored by toHalfFloats, from its bytes as SQLite returns them. */
export function fromHalfFloats(bytes: Uint8Array): Float32Array {
  const table = halfValues();
  const count = bytes.byteLength >>> 1;
  const vector = new Float32Array(count);
  for (let index = 0; index < count; index++) vector[index] = table[bytes[2 * index]! | (bytes[2 * index + 1]! << 8)]!;
  return vector;
}

/** Cosine similarity of a query with a stored half-float vector, without materializing it. */
export function cosineWithHalfFloats(query: Float32Array, bytes: Uint8Array): number {
  const table = halfValues();
  let dot = 0;
  let norm = 0;
  let queryNorm = 0;
  for (let index = 0; index < query.length; index++) {
    const value = table[bytes[2 * index]! | (bytes[2 * index + 1]! << 8)]!;
    const component = query[index]!;
    dot += value * component;
    norm += value * value;
    queryNorm += component * component;
  }
  return norm > 0 && queryNorm > 0 ? dot / Math.sqrt(norm * queryNorm) : 0;
}
