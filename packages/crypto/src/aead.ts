/** Bytes of an AES-256 key. */
export const KEY_LENGTH = 32
/** Bytes of a full GCM tag. */
export const TAG_LENGTH = 16
/** Bytes of a truncated GCM tag (the first 12 bytes of the full tag, NIST SP 800-38D §5.2.1.2). */
export const SHORT_TAG_LENGTH = 12

/** Result of {@link Aead.seal}. */
export interface Sealed {
  /** Same length as the plaintext (GCM is a stream mode). */
  ciphertext: Uint8Array
  /** The full 16-byte GCM tag; callers that store 12 bytes keep its first 12. */
  tag: Uint8Array
}

/**
 * AES-256-GCM with 12-byte nonces. Implementations produce identical bytes for identical inputs.
 * `key` is 32 bytes and `nonce` 12, or `CARTRIDGE_INVALID_ARGUMENT` is thrown.
 */
export interface Aead {
  /** Which implementation this is. */
  readonly name: 'node:crypto' | 'noble'
  /**
   * Encrypts and authenticates `plaintext` and authenticates `aad`. When `out` is given (at least
   * `plaintext.length` bytes; it may be `plaintext` itself) the ciphertext is written there.
   */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out?: Uint8Array): Sealed
  /**
   * Verifies and decrypts. `tag` is the full 16-byte tag or its first 12 bytes. Returns the
   * plaintext (in `out` when given, which may be `ciphertext` itself), or `undefined` when
   * authentication fails; unauthenticated plaintext is never written to `out`.
   */
  open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array, tag: Uint8Array, out?: Uint8Array): Uint8Array | undefined
}
