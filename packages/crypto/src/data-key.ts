import { randomBytes } from 'node:crypto'
import { KEY_LENGTH } from './aead.js'

/** A fresh random 256-bit data key (the key every page, chunk and meta body is sealed under). */
export function randomDataKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_LENGTH))
}
