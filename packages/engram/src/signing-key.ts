import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { CartridgeError, ErrorCodes } from '@cartridge/core'

/** An Ed25519 key pair: the 32-byte secret seed and the 32-byte public key (RFC 8032). */
export interface SigningKeyPair {
  secretKey: Uint8Array
  publicKey: Uint8Array
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const SECRET_TAG = 'cartridge-ed25519-secret:'
const PUBLIC_TAG = 'cartridge-ed25519-public:'

/** A new Ed25519 key pair (through `node:crypto`). */
export async function generateSigningKey(): Promise<SigningKeyPair> {
  const { privateKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' }) as { d: string; x: string }
  return { secretKey: new Uint8Array(Buffer.from(jwk.d, 'base64url')), publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')) }
}

/** The public key of a secret seed. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  const jwk = secretKeyObject(secretKey).export({ format: 'jwk' }) as { x: string }
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'))
}

/** Key id: the first 8 bytes of SHA-256 of the public key, as 16 hex digits (what manifests and `verify` name). */
export function keyId(publicKey: Uint8Array): string {
  checkLength(publicKey, 'public key')
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16)
}

/** Ed25519 signature of `message` (64 bytes). */
export function signMessage(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, secretKeyObject(secretKey)))
}

/** Whether `signature` is `publicKey`'s Ed25519 signature of `message`. */
export function verifyMessage(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64) return false
  try {
    return verify(null, message, publicKeyObject(publicKey), signature)
  } catch {
    return false
  }
}

/**
 * Text form of a secret key, one line: `cartridge-ed25519-secret:<base64url of the 32-byte seed>`.
 * Keep it like a password; anyone with it signs as you.
 */
export function formatSecretKey(secretKey: Uint8Array): string {
  checkLength(secretKey, 'secret key')
  return `${SECRET_TAG}${Buffer.from(secretKey).toString('base64url')}`
}

/** Text form of a public key, one line: `cartridge-ed25519-public:<base64url of the 32 bytes>`. */
export function formatPublicKey(publicKey: Uint8Array): string {
  checkLength(publicKey, 'public key')
  return `${PUBLIC_TAG}${Buffer.from(publicKey).toString('base64url')}`
}

/** Reads {@link formatSecretKey}'s text (surrounding whitespace ignored). */
export function parseSecretKey(text: string): Uint8Array {
  return parseKey(text, SECRET_TAG, 'secret')
}

/** Reads {@link formatPublicKey}'s text (surrounding whitespace ignored). */
export function parsePublicKey(text: string): Uint8Array {
  return parseKey(text, PUBLIC_TAG, 'public')
}

function parseKey(text: string, tag: string, what: string): Uint8Array {
  const t = text.trim()
  if (!t.startsWith(tag)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `not a Cartridge ${what} key (it should start with ${tag})`)
  const bytes = Buffer.from(t.slice(tag.length), 'base64url')
  if (bytes.length !== 32) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `a ${what} key holds 32 bytes`)
  return new Uint8Array(bytes)
}

function checkLength(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `an Ed25519 ${what} is 32 bytes`)
}

function secretKeyObject(secretKey: Uint8Array): KeyObject {
  checkLength(secretKey, 'secret key')
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' })
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  checkLength(publicKey, 'public key')
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
}
