import { randomFillSync } from 'node:crypto'

/** Bytes of every AES-GCM nonce (96 bits, the length GCM is defined for without GHASH-ing the IV). */
export const NONCE_LENGTH = 12

/** Bytes of randomness {@link RandomNonces} draws from the OS at a time by default. */
export const NONCE_POOL_BYTES = 4096

/**
 * Where seals get their nonces. Production code uses {@link RandomNonces}; tests inject a fixed
 * sequence to compare implementations byte for byte. A nonce is never derived from the data.
 */
export interface NonceSource {
  /** Writes a fresh {@link NONCE_LENGTH}-byte nonce into `target[0..12)`. */
  fill(target: Uint8Array): void
}

/**
 * Random 96-bit nonces from a pooled buffer: one `randomFillSync` call per ~340 nonces instead of
 * one per seal. Each nonce is handed out once. Random 96-bit nonces stay within NIST SP 800-38D's
 * collision bound (2^-32) for up to 2^32 seals under one data key.
 */
export class RandomNonces implements NonceSource {
  private readonly pool: Uint8Array
  private pos: number

  /** @param poolBytes bytes of randomness to draw at a time (at least one nonce). */
  constructor(poolBytes = NONCE_POOL_BYTES) {
    this.pool = new Uint8Array(Math.max(NONCE_LENGTH, poolBytes - (poolBytes % NONCE_LENGTH)))
    this.pos = this.pool.length
  }

  fill(target: Uint8Array): void {
    if (this.pos + NONCE_LENGTH > this.pool.length) {
      randomFillSync(this.pool)
      this.pos = 0
    }
    target.set(this.pool.subarray(this.pos, this.pos + NONCE_LENGTH))
    this.pos += NONCE_LENGTH
  }
}
