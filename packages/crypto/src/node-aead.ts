import { createCipheriv, createDecipheriv } from 'node:crypto'
import type { Aead, Sealed } from './aead.js'
import { checkAeadArgs } from './check-aead-args.js'

/** AES-256-GCM through `node:crypto` (OpenSSL; AES-NI and PCLMULQDQ where the CPU has them). */
export class NodeAead implements Aead {
  readonly name = 'node:crypto' as const

  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out?: Uint8Array): Sealed {
    checkAeadArgs(key, nonce, plaintext.length, out)
    const cipher = createCipheriv('aes-256-gcm', key, nonce)
    if (aad.length > 0) cipher.setAAD(aad)
    const ct = cipher.update(plaintext)
    cipher.final()
    const tag = new Uint8Array(cipher.getAuthTag())
    if (!out) return { ciphertext: new Uint8Array(ct.buffer, ct.byteOffset, ct.length), tag }
    out.set(ct)
    return { ciphertext: out.subarray(0, ct.length), tag }
  }

  open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array, tag: Uint8Array, out?: Uint8Array): Uint8Array | undefined {
    checkAeadArgs(key, nonce, ciphertext.length, out, tag)
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: tag.length })
    if (aad.length > 0) decipher.setAAD(aad)
    decipher.setAuthTag(tag)
    const pt = decipher.update(ciphertext)
    try {
      decipher.final()
    } catch {
      pt.fill(0)
      return undefined
    }
    if (!out) return new Uint8Array(pt.buffer, pt.byteOffset, pt.length)
    out.set(pt)
    return out.subarray(0, pt.length)
  }
}
