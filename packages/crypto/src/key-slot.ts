import { CartridgeError, ErrorCodes, viewOf } from '@cartridge/core'
import { KEY_LENGTH, TAG_LENGTH, type Aead } from './aead.js'
import { defaultAead } from './default-aead.js'
import { checkKdfParams, deriveKey, newKdfParams, SALT_LENGTH, type KdfParams } from './kdf.js'
import { keySourceKind, type KeySource } from './key-source.js'
import { RandomNonces, NONCE_LENGTH, type NonceSource } from './nonce-source.js'
import { requireBytes } from './require-bytes.js'
import {
  CIPHER_AES_256_GCM, KdfId, KEY_SLOT_HEADER_SIZE, META_MAGIC, META_PAGE_SIZE, SEALED_MAJOR, SEALED_MINOR, SealedMeta,
} from './sealed-meta-layout.js'

/** How a sealed container's data key is protected, read from its key-slot header. */
export type KeySlotInfo = { kdf: 'key' } | { kdf: 'passphrase'; params: KdfParams }

/** Options of a {@link KeySlot}. */
export interface KeySlotOptions {
  /** AES-GCM implementation for the wrap (default {@link defaultAead}). */
  aead?: Aead
  /** Source of wrap nonces (default a fresh {@link RandomNonces}). */
  nonces?: NonceSource
  /** Passphrase → key-encryption key (default {@link deriveKey}); injectable to count or stub derivations. */
  derive?: (passphrase: string, params: KdfParams) => Uint8Array
}

/**
 * Reads and checks the clear header of a sealed meta page (bytes 0..127; a whole page is fine).
 * Never decrypts anything, so it tells a caller whether to ask for a key or a passphrase.
 * @throws CartridgeError `CARTRIDGE_CORRUPT` when the magic is wrong or the scrypt parameters are
 *   out of range; `CARTRIDGE_UNSUPPORTED` for another major, page size, cipher or KDF id
 */
export function readKeySlot(header: Uint8Array): KeySlotInfo {
  if (!(header instanceof Uint8Array) || header.length < KEY_SLOT_HEADER_SIZE) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `a key-slot header is ${KEY_SLOT_HEADER_SIZE} bytes`)
  }
  for (let i = 0; i < META_MAGIC.length; i++) {
    if (header[i] !== META_MAGIC[i]) throw new CartridgeError(ErrorCodes.CORRUPT, 'not a Cartridge meta page (bad magic)')
  }
  const v = viewOf(header)
  const major = v.getUint16(SealedMeta.major, true)
  if (major !== SEALED_MAJOR) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `meta page major ${major} is not an encrypted (major ${SEALED_MAJOR}) page`)
  const pageSize = v.getUint32(SealedMeta.pageSize, true)
  if (pageSize !== META_PAGE_SIZE) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `page size ${pageSize} is not supported`)
  const cipher = header[SealedMeta.cipher]
  if (cipher !== CIPHER_AES_256_GCM) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `unknown cipher id ${cipher}`)
  const kdf = header[SealedMeta.kdf]
  if (kdf === KdfId.RAW_KEY) return { kdf: 'key' }
  if (kdf !== KdfId.SCRYPT) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `unknown key-derivation id ${kdf}`)
  const params: KdfParams = {
    kind: 'scrypt',
    logN: header[SealedMeta.logN],
    r: header[SealedMeta.r],
    p: header[SealedMeta.p],
    salt: header.slice(SealedMeta.salt, SealedMeta.salt + SALT_LENGTH),
  }
  checkKdfParams(params, ErrorCodes.CORRUPT)
  return { kdf: 'passphrase', params }
}

/**
 * Wraps and unwraps the data key in the key-slot header of sealed meta pages. The data key is
 * sealed with AES-256-GCM under a key-encryption key (KEK): the user's raw key, or scrypt of the
 * passphrase. Derived KEKs are cached per (passphrase, salt, cost) in this object, so both meta
 * slots of a container (same header) cost one derivation; {@link clear} wipes them.
 */
export class KeySlot {
  private readonly aead: Aead
  private readonly nonces: NonceSource
  private readonly derive: (passphrase: string, params: KdfParams) => Uint8Array
  private readonly keks = new Map<string, Uint8Array>()

  constructor(options: KeySlotOptions = {}) {
    this.aead = options.aead ?? defaultAead()
    this.nonces = options.nonces ?? new RandomNonces()
    this.derive = options.derive ?? deriveKey
  }

  /**
   * Builds the 128-byte key-slot header that wraps `dataKey` for `source`. A passphrase uses
   * `kdfParams` (default: {@link newKdfParams}, a random salt and the default cost).
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for a data key that is not 32 bytes, an
   *   empty passphrase, parameters out of range, or `kdfParams` given with a raw key
   * @throws CartridgeError `CARTRIDGE_BAD_KEY` for a raw key that is not 32 bytes
   */
  wrapDataKey(dataKey: Uint8Array, source: KeySource, kdfParams?: KdfParams): Uint8Array {
    requireBytes(dataKey, KEY_LENGTH, 'data key')
    const kind = keySourceKind(source)
    if (kind === 'key' && kdfParams) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'key-derivation parameters apply to a passphrase, not a raw key')
    const params = kind === 'passphrase' ? (kdfParams ?? newKdfParams()) : undefined
    if (params) checkKdfParams(params)
    const kek = this.kek(source, params)
    const header = new Uint8Array(KEY_SLOT_HEADER_SIZE)
    const v = viewOf(header)
    header.set(META_MAGIC, SealedMeta.magic)
    v.setUint16(SealedMeta.major, SEALED_MAJOR, true)
    v.setUint16(SealedMeta.minor, SEALED_MINOR, true)
    v.setUint32(SealedMeta.pageSize, META_PAGE_SIZE, true)
    header[SealedMeta.cipher] = CIPHER_AES_256_GCM
    if (params) {
      header[SealedMeta.kdf] = KdfId.SCRYPT
      header[SealedMeta.logN] = params.logN
      header[SealedMeta.r] = params.r
      header[SealedMeta.p] = params.p
      header.set(params.salt, SealedMeta.salt)
    }
    const nonce = header.subarray(SealedMeta.wrapNonce, SealedMeta.wrapNonce + NONCE_LENGTH)
    this.nonces.fill(nonce)
    const { tag } = this.aead.seal(kek, nonce, dataKey, header.subarray(0, SealedMeta.wrapAadEnd),
      header.subarray(SealedMeta.wrappedKey, SealedMeta.wrappedKey + KEY_LENGTH))
    header.set(tag, SealedMeta.wrapTag)
    return header
  }

  /**
   * Recovers the data key from a sealed meta page's header (the whole page or its first 128 bytes).
   * @throws CartridgeError `CARTRIDGE_BAD_KEY` when the key or passphrase is wrong, a raw key is
   *   not 32 bytes, or the source is the wrong kind (the message says which the container needs)
   * @throws CartridgeError `CARTRIDGE_CORRUPT` / `CARTRIDGE_UNSUPPORTED` from {@link readKeySlot}
   */
  unwrapDataKey(sealedMetaPage: Uint8Array, source: KeySource): Uint8Array {
    const info = readKeySlot(sealedMetaPage)
    const kind = keySourceKind(source)
    if (info.kdf !== kind) {
      throw new CartridgeError(ErrorCodes.BAD_KEY, info.kdf === 'passphrase'
        ? 'this container is encrypted with a passphrase; a raw key was given'
        : 'this container is encrypted with a raw 256-bit key; a passphrase was given')
    }
    const kek = this.kek(source, info.kdf === 'passphrase' ? info.params : undefined)
    const h = sealedMetaPage
    const dataKey = this.aead.open(kek,
      h.subarray(SealedMeta.wrapNonce, SealedMeta.wrapNonce + NONCE_LENGTH),
      h.subarray(SealedMeta.wrappedKey, SealedMeta.wrappedKey + KEY_LENGTH),
      h.subarray(0, SealedMeta.wrapAadEnd),
      h.subarray(SealedMeta.wrapTag, SealedMeta.wrapTag + TAG_LENGTH))
    if (!dataKey) throw new CartridgeError(ErrorCodes.BAD_KEY, 'wrong key or passphrase')
    return dataKey
  }

  /** Wipes and forgets every cached key-encryption key. */
  clear(): void {
    for (const kek of this.keks.values()) kek.fill(0)
    this.keks.clear()
  }

  /** The KEK for `source`: the raw key itself, or the (cached) scrypt derivation. */
  private kek(source: KeySource, params: KdfParams | undefined): Uint8Array {
    if (!params) {
      const key = (source as { key: Uint8Array }).key
      if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
        const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key
        throw new CartridgeError(ErrorCodes.BAD_KEY, `the key must be ${KEY_LENGTH} bytes (256 bits), got ${got}`)
      }
      return key
    }
    const passphrase = (source as { passphrase: string }).passphrase
    const id = `${params.logN},${params.r},${params.p},${Buffer.from(params.salt).toString('hex')},${passphrase}`
    let kek = this.keks.get(id)
    if (!kek) {
      kek = this.derive(passphrase, params)
      this.keks.set(id, kek)
    }
    return kek
  }
}
