import { getCiphers } from 'node:crypto'
import type { Aead } from './aead.js'
import { NobleAead } from './noble-aead.js'
import { NodeAead } from './node-aead.js'

/** {@link NodeAead} (OpenSSL, AES-NI) when `node:crypto` has `aes-256-gcm`, else {@link NobleAead}. */
export function defaultAead(): Aead {
  return getCiphers().includes('aes-256-gcm') ? new NodeAead() : new NobleAead()
}
