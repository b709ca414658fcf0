const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const NON_ASCII = /[^\x00-\x7F]/

/** UTF-8 length of `s`, or -1 when it holds a lone surrogate (so it cannot round-trip). */
export function utf8Length(s: string): number {
  if (!NON_ASCII.test(s)) return s.length
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c < 0xd800 || c > 0xdfff) n += 3
    else if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4
      i++
    } else return -1
  }
  return n
}

/** Writes `s` as UTF-8 at `page[off]` and returns the byte count. */
export function writeUtf8(page: Uint8Array, off: number, s: string): number {
  return writeAscii(page, off, s) ?? encoder.encodeInto(s, page.subarray(off)).written
}

/**
 * Writes `s` at `page[off]` when it is ASCII and fits, returning its length; otherwise returns
 * undefined (having written a prefix, which the caller overwrites). Paths are almost always
 * ASCII, and a loop costs far less than an encoder call per key.
 */
export function writeAscii(page: Uint8Array, off: number, s: string): number | undefined {
  const n = s.length
  if (off + n > page.length) return undefined
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) return undefined
    page[off + i] = c
  }
  return n
}

/**
 * Decodes `len` UTF-8 bytes at `page[off]` (ASCII without the decoder).
 * @throws TypeError for malformed UTF-8
 */
export function readUtf8(page: Uint8Array, off: number, len: number): string {
  const end = off + len
  let ascii = true
  for (let i = off; i < end; i++) {
    if (page[i] >= 0x80) {
      ascii = false
      break
    }
  }
  if (!ascii) return decoder.decode(page.subarray(off, end))
  if (len <= 256) return String.fromCharCode.apply(null, page.subarray(off, end) as unknown as number[])
  let s = ''
  for (let i = off; i < end; i += 256) s += String.fromCharCode.apply(null, page.subarray(i, Math.min(end, i + 256)) as unknown as number[])
  return s
}
