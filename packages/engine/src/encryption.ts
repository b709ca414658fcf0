import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { PAGE_SIZE, decodeMeta, isSealedMeta, type PageSealer, type PageStore } from '@cartridge/pager'
import {
  ContainerCipher, DEFAULT_SCRYPT, type Aead, KEY_SLOT_HEADER_SIZE, KeySlot, newKdfParams, randomDataKey, readKeySlot, type KeySource, type ScryptCost,
} from '@cartridge/crypto'

/**
 * How a new container is encrypted: a 32-byte key, or a passphrase (scrypt; `scrypt` overrides
 * the cost, default N = 2^17, r = 8, p = 1 — lower it only for tests or very small devices).
 */
export type EncryptionSetting = ({ key: Uint8Array } | { passphrase: string }) & { scrypt?: ScryptCost }

/** A cipher for a new container: AES-256-GCM under `key` or `passphrase`, and optionally the AES-GCM implementation. */
export type CipherSetting = EncryptionSetting & { aead?: Aead }

/**
 * AES-256-GCM (spec §25) under a 32-byte key, or a passphrase (`{ passphrase, scrypt? }`), for
 * `new CartridgeBuilder().cipher(aesGcm(key))`. `options.aead` picks the AES-GCM implementation
 * (default `node:crypto`; `new NobleAead()` where there is no native crypto).
 */
export function aesGcm(key: Uint8Array | { passphrase: string; scrypt?: ScryptCost }, options: { aead?: Aead } = {}): CipherSetting {
  const base: EncryptionSetting = key instanceof Uint8Array ? { key } : { ...key }
  return options.aead ? { ...base, aead: options.aead } : base
}

/** What opening an encrypted container needs: its key or its passphrase. */
export interface KeyOptions {
  /** The container's 32-byte key (containers created with `encryption: { key }`). */
  key?: Uint8Array
  /** The container's passphrase (containers created with `encryption: { passphrase }`). */
  passphrase?: string
}

/** The data key's cipher and the key-slot header every meta page of the container carries. */
export interface Sealing {
  cipher: ContainerCipher
  header: Uint8Array
}

/** A sealing with its data key (kept for a key change, which wraps it again). */
export type KeyedSealing = Sealing & { dataKey: Uint8Array }

/** What the key slot of `s` says: how the key is derived, and the scrypt cost for a passphrase. */
export function sealingInfo(s: Sealing): ReturnType<typeof readKeySlot> {
  return readKeySlot(s.header)
}

/** The key source in `o`, or `undefined`; both at once is an error. */
export function keySource(o: KeyOptions): KeySource | undefined {
  if (o.key !== undefined && o.passphrase !== undefined) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'give a key or a passphrase, not both')
  }
  if (o.key !== undefined) return { key: o.key }
  if (o.passphrase !== undefined) return { passphrase: o.passphrase }
  return undefined
}

/** A fresh data key for a container `uuid`, wrapped for `setting`. */
export function newSealing(uuid: Uint8Array, setting: EncryptionSetting, aead?: Aead): KeyedSealing {
  const slot = new KeySlot({ aead })
  if (typeof setting !== 'object' || setting === null) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'encryption must be { key } or { passphrase }')
  }
  const source = keySource(setting)
  if (!source) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'encryption needs a key or a passphrase')
  const dataKey = randomDataKey()
  const params = 'passphrase' in source ? newKdfParams(setting.scrypt ?? DEFAULT_SCRYPT) : undefined
  return { cipher: new ContainerCipher(dataKey, uuid, aead), header: slot.wrapDataKey(dataKey, source, params), dataKey }
}

/** The same data key wrapped for a new key or passphrase (a key change: no data is rewritten). */
export function rewrapSealing(s: KeyedSealing, setting: EncryptionSetting): KeyedSealing {
  const source = keySource(setting)
  if (!source) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'a key change needs a new key or passphrase')
  const params = 'passphrase' in source ? newKdfParams(setting.scrypt ?? DEFAULT_SCRYPT) : undefined
  return { cipher: s.cipher, header: new KeySlot({ aead: s.cipher.aead }).wrapDataKey(s.dataKey, source, params), dataKey: s.dataKey }
}

/**
 * Reads the meta slots of `store` and, when the container is encrypted, unwraps its data key with
 * `options` (before anything else is read) and finds its uuid. `undefined` for a plain container.
 * @throws CartridgeError `CARTRIDGE_BAD_KEY` when no key is given or it is wrong,
 *   `CARTRIDGE_INVALID_ARGUMENT` when a key is given for a container that is not encrypted,
 *   `CARTRIDGE_AUTH_FAILED` when the key is right but no meta page authenticates.
 */
export function openSealing(store: PageStore, options: KeyOptions & { aead?: Aead }): KeyedSealing | undefined {
  const source = keySource(options)
  const slots: Uint8Array[] = []
  if (store.pageCount() >= 2) {
    for (const n of [0, 1]) {
      const page = new Uint8Array(PAGE_SIZE)
      store.read(n, page)
      if (isSealedMeta(page)) slots.push(page)
    }
  }
  if (slots.length === 0) {
    if (source) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the container is not encrypted: open it without a key or passphrase')
    return undefined
  }
  if (!source) {
    const info = readKeySlot(slots[0])
    throw new CartridgeError(ErrorCodes.BAD_KEY, `the container is encrypted: open it with its ${info.kdf === 'key' ? 'key ({ key })' : 'passphrase ({ passphrase })'}`)
  }
  const keySlot = new KeySlot({ aead: options.aead })
  let lastError: unknown
  for (const page of slots) {
    let dataKey: Uint8Array
    try {
      dataKey = keySlot.unwrapDataKey(page, source)
    } catch (err) {
      lastError = err
      continue
    }
    // The uuid sits in the sealed body: open a body to learn it (either slot will do).
    const probe = new ContainerCipher(dataKey, new Uint8Array(16), options.aead)
    for (const body of slots) {
      const plain = probe.openMeta(body)
      const decoded = plain && decodeMeta(plain)
      if (decoded && decoded.ok) {
        probe.destroy()
        return { cipher: new ContainerCipher(dataKey, decoded.meta.uuid, options.aead), header: page.slice(0, KEY_SLOT_HEADER_SIZE), dataKey }
      }
    }
    probe.destroy()
    throw new CartridgeError(ErrorCodes.AUTH_FAILED, 'the key is right but neither meta page authenticates: the container was changed or damaged')
  }
  keySlot.clear()
  throw lastError instanceof CartridgeError ? lastError : new CartridgeError(ErrorCodes.BAD_KEY, 'wrong key or passphrase', { cause: lastError })
}

/** The pager's view of a container's sealing. */
export function pageSealer(s: Sealing): PageSealer {
  return {
    sealPage: (plain) => s.cipher.sealPage(plain),
    openPage: (sealed, pageNo, txn) => s.cipher.openPage(sealed, pageNo, txn),
    sealMeta: (plain) => s.cipher.sealMeta(plain, s.header),
    openMeta: (sealed) => s.cipher.openMeta(sealed),
  }
}
