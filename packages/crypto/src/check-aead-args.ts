import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { requireBytes, requireRoom } from './require-bytes.js'
import { KEY_LENGTH, SHORT_TAG_LENGTH, TAG_LENGTH } from './aead.js'
import { NONCE_LENGTH } from './nonce-source.js'

/** Argument checks shared by the {@link Aead} implementations (`CARTRIDGE_INVALID_ARGUMENT`). */
export function checkAeadArgs(key: Uint8Array, nonce: Uint8Array, length: number, out: Uint8Array | undefined, tag?: Uint8Array): void {
  requireBytes(key, KEY_LENGTH, 'AES-256-GCM key')
  requireBytes(nonce, NONCE_LENGTH, 'AES-GCM nonce')
  requireRoom(out, length, 'AES-GCM')
  if (tag !== undefined && tag.length !== TAG_LENGTH && tag.length !== SHORT_TAG_LENGTH) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `AES-GCM tag must be ${TAG_LENGTH} or ${SHORT_TAG_LENGTH} bytes, got ${tag.length}`)
  }
}
