/**
 * Seeded randomness. Every random choice in the engine (initialisation, batch orders, data
 * subsets, augmentation) draws from a generator derived from the experiment seed and a purpose
 * path (e.g. ["particle-order", cycle, particle]), so a re-run task reproduces its result exactly
 * and two particles never share a stream by accident.
 */
import { createHash } from "node:crypto";

export type SeedPath = ReadonlyArray<string | number>;

/** A 128-bit seed derived from the experiment seed and a purpose path. */
export function deriveSeed(seed: number, path: SeedPath): Uint32Array {
  const digest = createHash("sha256").update(JSON.stringify([seed, ...path])).digest();
  return new Uint32Array([digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)]);
}

/** xoshiro128** (Blackman & Vigna): fast, 2^128 − 1 period, good enough statistics for ML. */
export class Random {
  private readonly state: Uint32Array;

  constructor(seed: Uint32Array) {
    this.state = Uint32Array.from(seed);
    if (this.state.every((word) => word === 0)) this.state[0] = 0x9e3779b9;
  }

  static derive(seed: number, path: SeedPath): Random {
    return new Random(deriveSeed(seed, path));
  }

  nextUint32(): number {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, bound), without modulo bias. */
  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0 || bound > 4294967296) throw new RangeError(`bound must be an integer in [1, 2^32], got ${bound}`);
    const limit = 4294967296 - (4294967296 % bound);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % bound;
    }
  }

  /** Standard normal (Box–Muller; the second value is discarded to keep the stream simple). */
  nextNormal(): number {
    const u1 = (this.nextUint32() + 1) / 4294967297;
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const swap = order[i]!;
      order[i] = order[j]!;
      order[j] = swap;
    }
    return order;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
