import { CartridgeError, ErrorCodes, setU64, utf8, viewOf } from '@cartridge/core'
import { KEY_LENGTH, type Aead } from './aead.js'
import { NONCE_LENGTH, type NonceSource } from './nonce-source.js'
import { requireBytes } from './require-bytes.js'

/** Bytes of a sealed chunk's AAD: "CRTC" ‖ uuid ‖ u64 chunkIndex ‖ u32 logicalLength ‖ u8 codec. */
export const CHUNK_AAD_SIZE = 33
/** Domain tag opening the AAD of every sealed content chunk. */
export const CHUNK_AAD_TAG = utf8('CRTC')

/** What a sealed chunk is bound to (all of it authenticated, none of it stored in the chunk). */
export interface ChunkBinding {
  /** The container id (16 bytes). */
  uuid: Uint8Array
  /** Index of the chunk within its file. */
  chunkIndex: number
  /** Bytes of content the chunk holds once decoded. */
  logicalLength: number
  /** Codec id the stored bytes are in. */
  codec: number
}

/** A sealed chunk: the ciphertext (as long as the stored bytes) with its nonce and 16-byte tag. */
export interface SealedChunk {
  ciphertext: Uint8Array
  nonce: Uint8Array
  tag: Uint8Array
}

/** Builds the 33-byte AAD binding a chunk to its container, index, logical length and codec. */
export function chunkAad(a: ChunkBinding): Uint8Array {
  requireBytes(a.uuid, 16, 'container uuid')
  const inRange = (n: number, max: number) => Number.isSafeInteger(n) && n >= 0 && n <= max
  if (!inRange(a.chunkIndex, Number.MAX_SAFE_INTEGER) || !inRange(a.logicalLength, 0xffff_ffff) || !inRange(a.codec, 0xff)) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `chunk binding out of range (index ${a.chunkIndex}, length ${a.logicalLength}, codec ${a.codec})`)
  }
  const aad = new Uint8Array(CHUNK_AAD_SIZE)
  aad.set(CHUNK_AAD_TAG, 0)
  aad.set(a.uuid, 4)
  const v = viewOf(aad)
  setU64(v, 20, a.chunkIndex)
  v.setUint32(28, a.logicalLength, true)
  v.setUint8(32, a.codec)
  return aad
}

/** Seals a chunk's stored bytes (ciphertext in `out` when given; it may be `plain` itself). */
export function sealChunk(plain: Uint8Array, a: ChunkBinding, dataKey: Uint8Array, aead: Aead, nonces: NonceSource, out?: Uint8Array): SealedChunk {
  requireBytes(dataKey, KEY_LENGTH, 'data key')
  const aad = chunkAad(a)
  const nonce = new Uint8Array(NONCE_LENGTH)
  nonces.fill(nonce)
  const { ciphertext, tag } = aead.seal(dataKey, nonce, plain, aad, out)
  return { ciphertext, nonce, tag }
}

/**
 * Opens a sealed chunk (plaintext in `out` when given; it may be `ciphertext` itself). Returns
 * `undefined` when it does not authenticate against `a`.
 */
export function openChunk(ciphertext: Uint8Array, nonce: Uint8Array, tag: Uint8Array, a: ChunkBinding, dataKey: Uint8Array, aead: Aead, out?: Uint8Array): Uint8Array | undefined {
  requireBytes(dataKey, KEY_LENGTH, 'data key')
  return aead.open(dataKey, nonce, ciphertext, chunkAad(a), tag, out)
}
