import { CartridgeError, ErrorCodes } from '@cartridge/core'

/**
 * Throws `CARTRIDGE_INVALID_ARGUMENT` unless `bytes` is a Uint8Array of exactly `length` bytes.
 * For programming errors (a caller passing the wrong buffer), never for data read from disk.
 */
export function requireBytes(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${what} must be ${length} bytes, got ${got}`)
  }
}

/** Throws `CARTRIDGE_INVALID_ARGUMENT` when `out` is given and holds fewer than `length` bytes. */
export function requireRoom(out: Uint8Array | undefined, length: number, what: string): void {
  if (out !== undefined && out.length < length) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${what} needs ${length} bytes of output, got ${out.length}`)
  }
}
