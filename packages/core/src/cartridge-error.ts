/**
 * Stable error codes. A code never changes meaning; new codes may be added.
 * The README holds the table with what each one means.
 */
export const ErrorCodes = {
  NOT_FOUND: 'CARTRIDGE_NOT_FOUND',
  EXISTS: 'CARTRIDGE_EXISTS',
  NOT_A_DIRECTORY: 'CARTRIDGE_NOT_A_DIRECTORY',
  IS_A_DIRECTORY: 'CARTRIDGE_IS_A_DIRECTORY',
  CORRUPT: 'CARTRIDGE_CORRUPT',
  CHECKSUM: 'CARTRIDGE_CHECKSUM',
  FULL: 'CARTRIDGE_FULL',
  LOCKED: 'CARTRIDGE_LOCKED',
  INVALID_PATH: 'CARTRIDGE_INVALID_PATH',
  INVALID_ARGUMENT: 'CARTRIDGE_INVALID_ARGUMENT',
  CLOSED: 'CARTRIDGE_CLOSED',
  READ_ONLY: 'CARTRIDGE_READ_ONLY',
  IO: 'CARTRIDGE_IO',
  ABORTED: 'CARTRIDGE_ABORTED',
  UNSUPPORTED: 'CARTRIDGE_UNSUPPORTED',
  CONFLICT: 'CARTRIDGE_CONFLICT',
  BAD_KEY: 'CARTRIDGE_BAD_KEY',
  AUTH_FAILED: 'CARTRIDGE_AUTH_FAILED',
  ACCESS_DENIED: 'CARTRIDGE_ACCESS_DENIED',
} as const

/** One of the stable `CARTRIDGE_*` error codes. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** Options for {@link CartridgeError}. */
export interface CartridgeErrorOptions {
  /** The container path (normalized) the error is about, where one applies. */
  path?: string
  /** The page number the error is about (checksum and corruption errors). */
  page?: number
  /** The underlying error. */
  cause?: unknown
}

/**
 * The one error class Cartridge throws. Match on `code`, never on `message`.
 */
export class CartridgeError extends Error {
  /** Stable machine-readable code, e.g. `CARTRIDGE_NOT_FOUND`. */
  readonly code: ErrorCode
  /** The normalized container path involved, if any. */
  readonly path?: string
  /** The page number involved, if any. */
  readonly page?: number

  constructor(code: ErrorCode, message: string, options: CartridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CartridgeError'
    this.code = code
    if (options.path !== undefined) this.path = options.path
    if (options.page !== undefined) this.page = options.page
  }
}

/**
 * `CARTRIDGE_ACCESS_DENIED`: the container's access policy does not allow the request. Says which
 * action on which (normalized) path, for whom, and the statement that decided (none when no
 * statement allowed it: an implicit deny).
 */
export class AccessDeniedError extends CartridgeError {
  /** The action that was refused, e.g. `read`. */
  readonly action: string
  /** The principal of the request, when it had one. */
  readonly principal?: string
  /** The deciding statement: its position in the policy and its sid; undefined for an implicit deny. */
  readonly statement?: { index: number; sid?: string }

  constructor(message: string, d: { action: string; path: string; principal?: string; statement?: { index: number; sid?: string } }) {
    super(ErrorCodes.ACCESS_DENIED, message, { path: d.path })
    this.action = d.action
    if (d.principal !== undefined) this.principal = d.principal
    if (d.statement !== undefined) this.statement = d.statement
  }
}

/** True when `err` is a {@link CartridgeError}, optionally with the given code. */
export function isCartridgeError(err: unknown, code?: ErrorCode): err is CartridgeError {
  return err instanceof CartridgeError && (code === undefined || err.code === code)
}

/** Wraps an unknown thrown value from the OS into a CARTRIDGE_IO error (CartridgeErrors pass through). */
export function toCartridgeError(err: unknown, what: string, path?: string): CartridgeError {
  if (err instanceof CartridgeError) return err
  const e = err as NodeJS.ErrnoException
  if (e && e.code === 'ENOSPC') return new CartridgeError(ErrorCodes.FULL, `${what}: no space left on device`, { cause: err, path })
  return new CartridgeError(ErrorCodes.IO, `${what}: ${e?.message ?? String(err)}`, { cause: err, path })
}
