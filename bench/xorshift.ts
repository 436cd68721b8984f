// xorshift32: a fast seeded PRNG of unsigned 32-bit integers, for the rank index benchmark's workload
// and the tests' long op sequences (a failing seed replays the same sequence).

/** A generator of uint32 values from `seed` (0 is taken as 1: xorshift would stay at 0). */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
