import { CartridgeError, ErrorCodes, crc32, viewOf } from '@cartridge/core'
import { KEY_LENGTH, TAG_LENGTH, type Aead } from './aead.js'
import { NONCE_LENGTH, type NonceSource } from './nonce-source.js'
import { requireBytes } from './require-bytes.js'
import {
  KEY_SLOT_HEADER_SIZE, META_MAGIC, META_PAGE_SIZE, PLAIN_MAJOR, PLAIN_MINOR, PlainMeta, SealedMeta,
} from './sealed-meta-layout.js'

/**
 * Seals a plain (major 1) meta page: the key-slot `header` (from {@link KeySlot.wrapDataKey})
 * in the clear, then the plain page's body (bytes 16..3951) sealed under the data key with the
 * header as AAD, then a CRC-32 of everything before it (so readers that predate encryption see a
 * valid slot of an unknown major and report it unsupported instead of damaged).
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for wrong sizes, or when the plain page's
 *   bytes 3952..4091 (which the sealed form has no room for) are not zero
 */
export function sealMeta(plain: Uint8Array, header: Uint8Array, dataKey: Uint8Array, aead: Aead, nonces: NonceSource): Uint8Array {
  requireBytes(plain, META_PAGE_SIZE, 'plain meta page')
  requireBytes(header, KEY_SLOT_HEADER_SIZE, 'key-slot header')
  requireBytes(dataKey, KEY_LENGTH, 'data key')
  for (let i = PlainMeta.bodyEnd; i < PlainMeta.checksum; i++) {
    if (plain[i] !== 0) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `plain meta page byte ${i} must be zero to be sealed (bytes ${PlainMeta.bodyEnd}..${PlainMeta.checksum - 1} do not fit)`)
  }
  const sealed = new Uint8Array(META_PAGE_SIZE)
  sealed.set(header, 0)
  const nonce = sealed.subarray(SealedMeta.bodyNonce, SealedMeta.bodyNonce + NONCE_LENGTH)
  nonces.fill(nonce)
  const { tag } = aead.seal(dataKey, nonce, plain.subarray(PlainMeta.body, PlainMeta.bodyEnd),
    sealed.subarray(0, KEY_SLOT_HEADER_SIZE), sealed.subarray(SealedMeta.body, SealedMeta.bodyTag))
  sealed.set(tag, SealedMeta.bodyTag)
  viewOf(sealed).setUint32(SealedMeta.checksum, crc32(sealed.subarray(0, SealedMeta.checksum)), true)
  return sealed
}

/**
 * Opens a sealed meta page with the data key and rebuilds the plain major-1 page it holds: magic,
 * major 1, minor 2, the page size, the body, zeros, and a fresh CRC-32 at 4092 — exactly what an
 * unencrypted container stores, so the ordinary meta decoder reads it. Returns `undefined` when
 * the page's CRC-32 does not match (a torn write) or its body does not authenticate.
 */
export function openMeta(sealed: Uint8Array, dataKey: Uint8Array, aead: Aead): Uint8Array | undefined {
  requireBytes(sealed, META_PAGE_SIZE, 'sealed meta page')
  requireBytes(dataKey, KEY_LENGTH, 'data key')
  const sv = viewOf(sealed)
  if (sv.getUint32(SealedMeta.checksum, true) !== crc32(sealed.subarray(0, SealedMeta.checksum))) return undefined
  const plain = new Uint8Array(META_PAGE_SIZE)
  const body = aead.open(dataKey,
    sealed.subarray(SealedMeta.bodyNonce, SealedMeta.bodyNonce + NONCE_LENGTH),
    sealed.subarray(SealedMeta.body, SealedMeta.bodyTag),
    sealed.subarray(0, KEY_SLOT_HEADER_SIZE),
    sealed.subarray(SealedMeta.bodyTag, SealedMeta.bodyTag + TAG_LENGTH),
    plain.subarray(PlainMeta.body, PlainMeta.bodyEnd))
  if (!body) return undefined
  const v = viewOf(plain)
  plain.set(META_MAGIC, 0)
  v.setUint16(PlainMeta.major, PLAIN_MAJOR, true)
  v.setUint16(PlainMeta.minor, PLAIN_MINOR, true)
  v.setUint32(PlainMeta.pageSize, sv.getUint32(SealedMeta.pageSize, true), true)
  v.setUint32(PlainMeta.checksum, crc32(plain.subarray(0, PlainMeta.checksum)), true)
  return plain
}
