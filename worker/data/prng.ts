/**
 * A small seeded PRNG for generating data (the synthetic set). Kept inside worker/data so the data
 * registry does not depend on the engine; the engine may consolidate generators later.
 *
 * mulberry32: 32-bit state, period 2^32, good enough for test data and fast in JavaScript.
 */

/** Uniform [0, 1) generator from a 32-bit seed; the same seed always gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Standard normal draws by Box–Muller. Each call consumes exactly two uniforms, so the number of
 * draws a caller makes fixes how far the underlying stream advances.
 */
export function gaussian(uniform: () => number): () => number {
  return () => {
    const u1 = 1 - uniform(); // (0, 1]: keeps log finite
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}
