import { ctr, gcm } from '@noble/ciphers/aes.js'
import type { Aead, Sealed } from './aead.js'
import { TAG_LENGTH } from './aead.js'
import { checkAeadArgs } from './check-aead-args.js'
import { NONCE_LENGTH } from './nonce-source.js'

/** True when `a` and `b` hold the same bytes; time depends only on the length. */
function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

/**
 * AES-256-GCM in pure JavaScript (`@noble/ciphers`), for runtimes whose `node:crypto` lacks it.
 * About 30× slower than {@link NodeAead} (the root README's Encryption section); identical bytes.
 *
 * noble verifies only full 16-byte tags, so a 12-byte tag is checked by hand: the payload is
 * decrypted as CTR from inc32(J0) (exactly GCM's keystream), re-sealed with GCM to get the real
 * tag, and its first 12 bytes are compared in constant time before any plaintext is released.
 */
export class NobleAead implements Aead {
  readonly name = 'noble' as const

  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out?: Uint8Array): Sealed {
    checkAeadArgs(key, nonce, plaintext.length, out)
    const sealed = gcm(key, nonce, aad).encrypt(plaintext)
    const n = plaintext.length
    const tag = sealed.slice(n)
    if (!out) return { ciphertext: sealed.subarray(0, n), tag }
    out.set(sealed.subarray(0, n))
    return { ciphertext: out.subarray(0, n), tag }
  }

  open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array, tag: Uint8Array, out?: Uint8Array): Uint8Array | undefined {
    checkAeadArgs(key, nonce, ciphertext.length, out, tag)
    const n = ciphertext.length
    let pt: Uint8Array
    if (tag.length === TAG_LENGTH) {
      const joined = new Uint8Array(n + TAG_LENGTH)
      joined.set(ciphertext)
      joined.set(tag, n)
      try {
        pt = gcm(key, nonce, aad).decrypt(joined)
      } catch {
        return undefined
      }
    } else {
      // Counter block inc32(J0) = nonce ‖ 0x00000002: the 32-bit counter cannot wrap within
      // GCM's 2^32 − 2 block limit, so noble's 128-bit CTR increment matches GCM's inc32.
      const counter = new Uint8Array(16)
      counter.set(nonce)
      counter[NONCE_LENGTH + 3] = 2
      pt = ctr(key, counter).decrypt(ciphertext)
      const full = gcm(key, nonce, aad).encrypt(pt)
      if (!equalConstantTime(full.subarray(n, n + tag.length), tag)) {
        pt.fill(0)
        return undefined
      }
    }
    if (!out) return pt
    out.set(pt)
    return out.subarray(0, n)
  }
}
