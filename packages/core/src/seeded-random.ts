/**
 * A small deterministic PRNG (mulberry32) returning numbers in [0, 1). For tests, fault injection
 * and workloads that must reproduce from a seed; not for anything secret.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * `size` bytes derived from `seed` (xorshift32), so content can be re-derived to check it. The
 * spec vectors are built from these bytes: the sequence must not change.
 */
export function seededBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/**
 * `size` bytes derived from `seed` that compress in part: stretches of about 20 KB alternate,
 * by seed, between noise, low-entropy bytes and runs of one byte. For tests of compressing
 * containers (some chunks compress, some stay raw, runs get packed).
 */
export function mixedBytes(size: number, seed: number): Uint8Array {
  const out = seededBytes(size, seed)
  const span = 20_000 + (seed % 7) * 3_000
  for (let start = 0, k = seed; start < size; start += span, k++) {
    const end = Math.min(size, start + span)
    if (k % 3 === 1) for (let i = start; i < end; i++) out[i] &= 0x07
    else if (k % 3 === 2) out.fill(out[start], start, end)
  }
  return out
}
