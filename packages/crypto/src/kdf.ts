import { randomBytes, scryptSync } from 'node:crypto'
import { CartridgeError, ErrorCodes, utf8, type ErrorCode } from '@cartridge/core'
import { scrypt as nobleScrypt } from '@noble/hashes/scrypt.js'
import { KEY_LENGTH } from './aead.js'

/** Bytes of a scrypt salt. */
export const SALT_LENGTH = 32

/** scrypt cost parameters (N = 2^logN). */
export interface ScryptCost {
  /** log2 of the CPU/memory cost N. */
  logN: number
  /** Block size. */
  r: number
  /** Parallelism. */
  p: number
}

/** Everything needed to derive a key-encryption key from a passphrase. */
export interface KdfParams extends ScryptCost {
  kind: 'scrypt'
  /** {@link SALT_LENGTH} random bytes, stored in the clear in the sealed meta page. */
  salt: Uint8Array
}

/** Default scrypt cost: N = 2^17, r = 8, p = 1 — 128 MiB, OWASP's recommended minimum for scrypt. */
export const DEFAULT_SCRYPT: Readonly<ScryptCost> = Object.freeze({ logN: 17, r: 8, p: 1 })

/** Accepted ranges of the scrypt parameters (inclusive). */
export const SCRYPT_LIMITS = Object.freeze({ logN: [10, 22], r: [1, 32], p: [1, 16] } as const)

/**
 * Largest scrypt working memory (128 · r · N bytes) accepted: 1 GiB, eight times the default.
 * The per-parameter ranges alone would allow 16 GiB (logN 22, r 32), so a forged header could
 * still make an open allocate gigabytes without this bound.
 */
export const MAX_SCRYPT_MEMORY = 2 ** 30

/** Which scrypt implementation {@link deriveKey} uses. */
export type ScryptImplementation = 'node:crypto' | 'noble'

/** The implementation {@link deriveKey} uses by default: `node:crypto` when it has `scryptSync`. */
export const scryptImplementation: ScryptImplementation = typeof scryptSync === 'function' ? 'node:crypto' : 'noble'

/** Bytes of working memory scrypt needs for `cost` (the V array, 128 · r · N). */
export function scryptMemory(cost: ScryptCost): number {
  return 128 * cost.r * 2 ** cost.logN
}

/**
 * Throws `code` (with message "key parameters out of range") unless `params` is within
 * {@link SCRYPT_LIMITS} and {@link MAX_SCRYPT_MEMORY} with a {@link SALT_LENGTH}-byte salt.
 * Readers pass `CARTRIDGE_CORRUPT`, writers `CARTRIDGE_INVALID_ARGUMENT`.
 */
export function checkKdfParams(params: KdfParams, code: ErrorCode = ErrorCodes.INVALID_ARGUMENT): void {
  const within = (v: number, [lo, hi]: readonly [number, number]) => Number.isInteger(v) && v >= lo && v <= hi
  const ok = params?.kind === 'scrypt' &&
    within(params.logN, SCRYPT_LIMITS.logN) && within(params.r, SCRYPT_LIMITS.r) && within(params.p, SCRYPT_LIMITS.p) &&
    scryptMemory(params) <= MAX_SCRYPT_MEMORY &&
    params.salt instanceof Uint8Array && params.salt.length === SALT_LENGTH
  if (!ok) {
    const shown = params ? `logN ${params.logN}, r ${params.r}, p ${params.p}, salt ${params.salt?.length ?? 'missing'} bytes` : 'none'
    throw new CartridgeError(code, `key parameters out of range (${shown})`)
  }
}

/** Fresh scrypt parameters with a random salt; `cost` defaults to {@link DEFAULT_SCRYPT}. */
export function newKdfParams(cost: ScryptCost = DEFAULT_SCRYPT): KdfParams {
  const params: KdfParams = { kind: 'scrypt', logN: cost.logN, r: cost.r, p: cost.p, salt: new Uint8Array(randomBytes(SALT_LENGTH)) }
  checkKdfParams(params)
  return params
}

/**
 * Raw scrypt of `password` (bytes) → `length` bytes, through either implementation. No range
 * checks beyond the memory limit: {@link deriveKey} is the checked entry point.
 */
export function scryptBytes(password: Uint8Array, salt: Uint8Array, cost: ScryptCost, length: number, impl: ScryptImplementation = scryptImplementation): Uint8Array {
  const N = 2 ** cost.logN
  const maxmem = 2 * scryptMemory(cost) + 128 * cost.r * cost.p + 16 * 2 ** 20
  if (impl === 'noble') return nobleScrypt(password, salt, { N, r: cost.r, p: cost.p, dkLen: length, maxmem })
  const out = scryptSync(password, salt, length, { N, r: cost.r, p: cost.p, maxmem })
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/**
 * Derives the 32-byte key-encryption key from a passphrase: scrypt over its NFC-normalized UTF-8
 * bytes. Both implementations give the same bytes.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for an empty passphrase or parameters out of range
 */
export function deriveKey(passphrase: string, params: KdfParams, impl: ScryptImplementation = scryptImplementation): Uint8Array {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'passphrase must be a non-empty string')
  }
  checkKdfParams(params)
  const password = utf8(passphrase.normalize('NFC'))
  try {
    return scryptBytes(password, params.salt, params, KEY_LENGTH, impl)
  } finally {
    password.fill(0)
  }
}
