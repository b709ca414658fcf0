import { crc32, getU64, setU64, utf8, viewOf } from '@cartridge/core'
import { KEY_LENGTH, SHORT_TAG_LENGTH, type Aead } from './aead.js'
import { NONCE_LENGTH, type NonceSource } from './nonce-source.js'
import { requireBytes, requireRoom } from './require-bytes.js'

/** Bytes of a structure page, sealed or plain. */
export const PAGE_SIZE = 4096
/** Bytes of a sealed page's AAD: "CRTP" ‖ uuid ‖ u64 pageNo ‖ u64 txn. */
export const PAGE_AAD_SIZE = 36
/** Domain tag opening the AAD of every sealed structure page. */
export const PAGE_AAD_TAG = utf8('CRTP')

/**
 * Byte offsets. Plain header: `crc u32 @0 | type u8 @4 | level u8 @5 | count u16 @6 | txn u64 @8 |
 * pageNo u64 @16 | used u32 @24 | reserved u32 @28 | payload @32`. Sealed page: `nonce 12 @0 |
 * tag 12 @12 (first 12 bytes of the GCM tag) | ciphertext 4072 @24` of plain[4..8) ‖ plain[24..28)
 * ‖ plain[32..4096). The crc is recomputed, txn and pageNo come from the parent pointer (and are
 * bound through the AAD), and the reserved word is zero.
 */
export const SealedPage = { nonce: 0, tag: 12, ciphertext: 24 } as const

/** Builds the 36-byte AAD that binds a sealed page to its container, page number and birth txn. */
export function pageAad(uuid: Uint8Array, pageNo: number, txn: number): Uint8Array {
  requireBytes(uuid, 16, 'container uuid')
  const aad = new Uint8Array(PAGE_AAD_SIZE)
  aad.set(PAGE_AAD_TAG, 0)
  aad.set(uuid, 4)
  const v = viewOf(aad)
  setU64(v, 20, pageNo)
  setU64(v, 28, txn)
  return aad
}

/**
 * Seals a plain 4096-byte structure page into a 4096-byte sealed page (in `out` when given; `out`
 * must not overlap `plain`). Its checksum and reserved word are not stored: {@link openPage}
 * recomputes them.
 */
export function sealPage(plain: Uint8Array, uuid: Uint8Array, dataKey: Uint8Array, aead: Aead, nonces: NonceSource, out?: Uint8Array): Uint8Array {
  requireBytes(plain, PAGE_SIZE, 'plain page')
  requireBytes(dataKey, KEY_LENGTH, 'data key')
  requireRoom(out, PAGE_SIZE, 'sealed page')
  const pv = viewOf(plain)
  const aad = pageAad(uuid, getU64(pv, 16), getU64(pv, 8))
  const sealed = out ? out.subarray(0, PAGE_SIZE) : new Uint8Array(PAGE_SIZE)
  // Gather the plaintext in place where the ciphertext goes, then encrypt it in place.
  sealed.set(plain.subarray(4, 8), SealedPage.ciphertext)
  sealed.set(plain.subarray(24, 28), SealedPage.ciphertext + 4)
  sealed.set(plain.subarray(32, PAGE_SIZE), SealedPage.ciphertext + 8)
  const body = sealed.subarray(SealedPage.ciphertext)
  const nonce = sealed.subarray(SealedPage.nonce, SealedPage.nonce + NONCE_LENGTH)
  nonces.fill(nonce)
  const { tag } = aead.seal(dataKey, nonce, body, aad, body)
  sealed.set(tag.subarray(0, SHORT_TAG_LENGTH), SealedPage.tag)
  return sealed
}

/**
 * Opens a sealed page read through a parent pointer that says it is page `pageNo`, born in
 * `txn`, of container `uuid`. Returns the plain page (in `out` when given; `out` may be
 * `sealed` itself, which is then overwritten only on success) exactly as the unencrypted format holds it, CRC-32 of bytes 4..4095 at 0
 * included — or `undefined` when it does not authenticate (damaged, another page or version, or
 * another container).
 */
export function openPage(sealed: Uint8Array, pageNo: number, txn: number, uuid: Uint8Array, dataKey: Uint8Array, aead: Aead, out?: Uint8Array): Uint8Array | undefined {
  requireBytes(sealed, PAGE_SIZE, 'sealed page')
  requireBytes(dataKey, KEY_LENGTH, 'data key')
  requireRoom(out, PAGE_SIZE, 'plain page')
  const aad = pageAad(uuid, pageNo, txn)
  const plain = out ? out.subarray(0, PAGE_SIZE) : new Uint8Array(PAGE_SIZE)
  // Decrypt into plain[24..4096): type/level/count land at 24..28, used at 28..32, payload at 32.
  const opened = aead.open(dataKey,
    sealed.subarray(SealedPage.nonce, SealedPage.nonce + NONCE_LENGTH),
    sealed.subarray(SealedPage.ciphertext),
    aad,
    sealed.subarray(SealedPage.tag, SealedPage.tag + SHORT_TAG_LENGTH),
    plain.subarray(SealedPage.ciphertext))
  if (!opened) return undefined
  plain.copyWithin(4, 24, 28)
  plain.copyWithin(24, 28, 32)
  const v = viewOf(plain)
  v.setUint32(28, 0, true)
  setU64(v, 8, txn)
  setU64(v, 16, pageNo)
  v.setUint32(0, crc32(plain.subarray(4, PAGE_SIZE)), true)
  return plain
}
