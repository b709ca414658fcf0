import { CartridgeError, ErrorCodes, fromUtf8, getU64, setU64, utf8, viewOf } from '@cartridge/core'

/**
 * One audit log entry: what happened, to what, when, by whom, and where in the log it sits.
 * `prevRoot` is the Merkle root of every entry before this one, so each entry vouches for the
 * whole log before it and a changed, removed, inserted or reordered entry is located by the
 * first entry whose `index` or `prevRoot` no longer agrees with what precedes it.
 */
export interface AuditEntry {
  /** Position in the log, from 0. */
  index: number
  /** When the operation happened, ms since the epoch. */
  time: number
  /** What was done: `write`, `delete`, `rename`, `snapshot.create`, … (see the README's table). */
  action: string
  /** Who did it: the request's principal, else the operating-system user. */
  principal: string
  /** The container path the operation was about ('' when none). */
  path: string
  /** The second path or name: a rename's target, a snapshot's name ('' when none). */
  target: string
  /** Bytes of the new content (writes), or of what was read or removed; undefined when it does not apply. */
  size?: number
  /** SHA-256 of the new content (whole-file writes), or of what was read. */
  sha256?: Uint8Array
  /** Anything else worth keeping, as short text (a codec, a count, an engram's root). */
  detail: string
  /** Merkle root (RFC 9162) of entries 0 … index − 1. */
  prevRoot: Uint8Array
}

/** Format version of an encoded entry (byte 0). */
export const AUDIT_ENTRY_VERSION = 1
/** Longest action, bytes (ASCII). */
export const MAX_ACTION_BYTES = 64
/** Longest principal, bytes (UTF-8). */
export const MAX_PRINCIPAL_BYTES = 255
/** Longest path, target or detail, bytes (UTF-8). */
export const MAX_FIELD_BYTES = 1024
/** Largest encoded entry: the fixed part and every field at its longest. */
export const MAX_ENTRY_BYTES = 96 + 1 + MAX_ACTION_BYTES + 1 + MAX_PRINCIPAL_BYTES + 3 * (2 + MAX_FIELD_BYTES)

const FLAG_SIZE = 1
const FLAG_HASH = 2
const ACTION = /^[a-z][a-z0-9.-]*$/

/*
 * Layout (little-endian):
 *   0 u8 version = 1 | 1 u8 flags (bit 0 size, bit 1 sha256) | 2 u16 reserved | 4 u32 reserved
 *   8 u64 index | 16 u64 time | 24 u64 size | 32 prevRoot (32) | 64 sha256 (32, zero when absent)
 *   96 u8 actionLen, action | u8 principalLen, principal | u16 pathLen, path | u16 targetLen,
 *   target | u16 detailLen, detail
 */

/** Clips `s` to at most `max` UTF-8 bytes without splitting a character. */
export function clipUtf8(s: string, max: number): Uint8Array {
  let b = utf8(s)
  if (b.length <= max) return b
  let end = max
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--
  b = b.slice(0, end)
  return b
}

/** Encodes an entry (its canonical bytes, which its leaf hash covers). Over-long text fields are refused, except `detail`, which is clipped. */
export function encodeAuditEntry(e: AuditEntry): Uint8Array {
  const action = utf8(e.action)
  if (action.length === 0 || action.length > MAX_ACTION_BYTES || !ACTION.test(e.action)) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `invalid audit action ${JSON.stringify(e.action)}`)
  }
  const principal = utf8(e.principal)
  if (principal.length > MAX_PRINCIPAL_BYTES) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `principal longer than ${MAX_PRINCIPAL_BYTES} bytes`)
  const path = utf8(e.path)
  const target = utf8(e.target)
  if (path.length > MAX_FIELD_BYTES || target.length > MAX_FIELD_BYTES) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `audit path longer than ${MAX_FIELD_BYTES} bytes`)
  const detail = clipUtf8(e.detail, MAX_FIELD_BYTES)
  if (e.prevRoot.length !== 32 || (e.sha256 && e.sha256.length !== 32)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'audit hashes are 32 bytes')
  const out = new Uint8Array(96 + 1 + action.length + 1 + principal.length + 2 + path.length + 2 + target.length + 2 + detail.length)
  const v = viewOf(out)
  v.setUint8(0, AUDIT_ENTRY_VERSION)
  v.setUint8(1, (e.size !== undefined ? FLAG_SIZE : 0) | (e.sha256 ? FLAG_HASH : 0))
  setU64(v, 8, e.index)
  setU64(v, 16, e.time)
  setU64(v, 24, e.size ?? 0)
  out.set(e.prevRoot, 32)
  if (e.sha256) out.set(e.sha256, 64)
  let off = 96
  const put = (bytes: Uint8Array, lenBytes: 1 | 2) => {
    if (lenBytes === 1) v.setUint8(off, bytes.length)
    else v.setUint16(off, bytes.length, true)
    out.set(bytes, off + lenBytes)
    off += lenBytes + bytes.length
  }
  put(action, 1)
  put(principal, 1)
  put(path, 2)
  put(target, 2)
  put(detail, 2)
  return out
}

/**
 * Decodes an entry, checking every length and reserved field (a forged entry is damage, never
 * guessed at).
 * @throws CartridgeError `CARTRIDGE_CORRUPT`
 */
export function decodeAuditEntry(b: Uint8Array): AuditEntry {
  const bad = (what: string): never => {
    throw new CartridgeError(ErrorCodes.CORRUPT, `audit entry is damaged: ${what}`)
  }
  if (b.length < 96 + 8) bad('too short')
  const v = viewOf(b)
  if (v.getUint8(0) !== AUDIT_ENTRY_VERSION) bad(`unknown version ${v.getUint8(0)}`)
  const flags = v.getUint8(1)
  if ((flags & ~(FLAG_SIZE | FLAG_HASH)) !== 0 || v.getUint16(2, true) !== 0 || v.getUint32(4, true) !== 0) bad('reserved bits set')
  let off = 96
  const take = (lenBytes: 1 | 2, max: number, what: string): Uint8Array => {
    if (off + lenBytes > b.length) bad(`${what} runs past the end`)
    const len = lenBytes === 1 ? v.getUint8(off) : v.getUint16(off, true)
    if (len > max || off + lenBytes + len > b.length) bad(`${what} length ${len}`)
    const out = b.subarray(off + lenBytes, off + lenBytes + len)
    off += lenBytes + len
    return out
  }
  const action = fromUtf8(take(1, MAX_ACTION_BYTES, 'action'))
  if (!ACTION.test(action)) bad(`action ${JSON.stringify(action)}`)
  const principal = fromUtf8(take(1, MAX_PRINCIPAL_BYTES, 'principal'))
  const path = fromUtf8(take(2, MAX_FIELD_BYTES, 'path'))
  const target = fromUtf8(take(2, MAX_FIELD_BYTES, 'target'))
  const detail = fromUtf8(take(2, MAX_FIELD_BYTES, 'detail'))
  if (off !== b.length) bad('bytes after the last field')
  const hasSize = (flags & FLAG_SIZE) !== 0
  const hasHash = (flags & FLAG_HASH) !== 0
  const size = getU64(v, 24)
  if (!hasSize && size !== 0) bad('size without its flag')
  const sha = b.slice(64, 96)
  if (!hasHash && sha.some((x) => x !== 0)) bad('hash without its flag')
  return {
    index: getU64(v, 8), time: getU64(v, 16), action, principal, path, target,
    ...(hasSize ? { size } : {}), ...(hasHash ? { sha256: sha } : {}),
    detail, prevRoot: b.slice(32, 64),
  }
}
