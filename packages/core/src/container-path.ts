import { CartridgeError, ErrorCodes } from './cartridge-error.js'

/** Longest normalized path, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1024
/** Longest single path segment, in UTF-8 bytes. */
export const MAX_SEGMENT_BYTES = 255

// Buffer.byteLength counts UTF-8 bytes without encoding (about 30× cheaper than TextEncoder here).
const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8')

/** A normalized path of printable ASCII: `/`-separated segments of 1–255 characters, none `.` or `..`. */
const NORMAL_ASCII = /^(?:\/(?!\.\.?(?:\/|$))[\x20-\x2e\x30-\x7e]{1,255})+$/

/**
 * Characters no path may hold: C0 and C1 controls, DEL, and the bidirectional formatting
 * characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which make a path display as
 * another one (`/invoice\u202Efdp.exe` shows as `/invoiceexe.pdf`).
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

/** A surrogate not part of a pair (in `u` mode a pair is one code point, so only lone ones match). */
const LONE_SURROGATE = /\p{Surrogate}/u

function invalid(message: string, input: string): never {
  throw new CartridgeError(ErrorCodes.INVALID_PATH, message, { path: input })
}

/**
 * Normalizes a container path once, the same way for storage and for policy checks:
 * Unicode NFC, `/` separators, a leading `/`, no empty, `.` or `..` segments, no trailing `/`.
 * `/a/./b//../c` → `/a/c`. The root is `/`.
 *
 * @throws CartridgeError `CARTRIDGE_INVALID_PATH` for an empty path, a NUL or other control
 * character, a bidirectional formatting character, a lone surrogate (not valid Unicode, so two
 * such paths would store as the same bytes), a path that climbs above the root, or one that is
 * too long.
 */
export function normalizePath(input: string): string {
  // Already normal and printable ASCII (so NFC, one byte per character): nothing to rewrite.
  if (typeof input === 'string' && input.length <= MAX_PATH_BYTES && NORMAL_ASCII.test(input)) return input
  if (typeof input !== 'string') invalid('path must be a string', String(input))
  if (input.length === 0) invalid('path is empty', input)
  if (FORBIDDEN.test(input)) invalid('path contains a control or bidirectional formatting character', input)
  if (LONE_SURROGATE.test(input)) invalid('path is not well-formed Unicode (a lone surrogate)', input)
  const parts: string[] = []
  for (const seg of input.normalize('NFC').split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') {
      if (parts.length === 0) invalid('path escapes the root', input)
      parts.pop()
      continue
    }
    if (utf8Length(seg) > MAX_SEGMENT_BYTES) invalid(`path segment longer than ${MAX_SEGMENT_BYTES} bytes`, input)
    parts.push(seg)
  }
  const out = '/' + parts.join('/')
  if (utf8Length(out) > MAX_PATH_BYTES) invalid(`path longer than ${MAX_PATH_BYTES} bytes`, input)
  return out
}

/**
 * Normalizes the path of a file: like {@link normalizePath}, but the root itself is not a file.
 */
export function normalizeFilePath(input: string): string {
  const p = normalizePath(input)
  if (p === '/') invalid('the root is a directory, not a file', input)
  return p
}

/** The key prefix that every path under directory `dir` (normalized) starts with. */
export function directoryPrefix(dir: string): string {
  return dir === '/' ? '/' : dir + '/'
}

/**
 * Orders strings by their UTF-8 bytes (the on-disk key order), which differs from
 * JavaScript's UTF-16 order only for characters above U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (D800–DFFF) encode code points above FFFF: they sort after E000–FFFF in UTF-8.
        x = x < 0xe000 ? x + 0x2000 : x - 0x800
        y = y < 0xe000 ? y + 0x2000 : y - 0x800
      }
      return x < y ? -1 : 1
    }
  }
  return a.length - b.length
}
