import { CartridgeError, ErrorCodes } from '@cartridge/core'

/**
 * Throws `CARTRIDGE_INVALID_ARGUMENT` with `message`. Every policy, statement, condition and
 * request problem is reported this way, at the moment it is found.
 */
export function invalidArgument(message: string): never {
  throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, message)
}

/** True for an object literal or `JSON.parse` result (prototype `Object.prototype` or `null`), not an array, class instance or `Date`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Checks that `value` is a plain object whose own keys are all in `allowed`.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` naming `what` and the first unknown key.
 */
export function expectObject(value: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  if (!isPlainObject(value)) invalidArgument(`${what} must be a plain object`)
  for (const key in value) {
    if (Object.hasOwn(value, key) && !allowed.includes(key)) invalidArgument(`${what} has an unknown field ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`)
  }
  return value
}

/** `JSON.stringify` for messages: quotes strings, names other values. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`
}
