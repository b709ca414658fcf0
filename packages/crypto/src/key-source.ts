import { CartridgeError, ErrorCodes } from '@cartridge/core'

/** What a user opens an encrypted container with: a raw 256-bit key or a passphrase. */
export type KeySource = { key: Uint8Array } | { passphrase: string }

/** Which kind of {@link KeySource} a source is (`CARTRIDGE_INVALID_ARGUMENT` if neither or both). */
export function keySourceKind(source: KeySource): 'key' | 'passphrase' {
  const hasKey = source != null && 'key' in source && source.key !== undefined
  const hasPassphrase = source != null && 'passphrase' in source && source.passphrase !== undefined
  if (hasKey === hasPassphrase) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'give exactly one of `key` (32 bytes) or `passphrase`')
  }
  return hasKey ? 'key' : 'passphrase'
}
