/*
 * Keys are held in memory in "sort-key" form: the same UTF-16 string with code units at or above
 * U+D800 moved so that JavaScript's native string order (`<`, a fast built-in) equals UTF-8 byte
 * order, the on-disk order (`compareKeys` in @cartridge/core). E000–FFFF move down to D800–F7FF
 * and surrogates D800–DFFF move up to F800–FFFF, above every BMP character, as their code points
 * are in UTF-8. Keys below U+D800 (paths are almost always such) are their own sort key.
 */

const HIGH_UNIT = /[\uD800-\uFFFF]/
const NON_ASCII = /[^\x00-\x7F]/

function shift(s: string, up: boolean): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let d = c
    if (up) {
      if (c >= 0xe000) d = c - 0x800
      else if (c >= 0xd800) d = c + 0x2000
    } else if (c >= 0xf800) d = c - 0x2000
    else if (c >= 0xd800) d = c + 0x800
    out += String.fromCharCode(d)
  }
  return out
}

/** The sort key of `key`. */
export function toSortKey(key: string): string {
  return HIGH_UNIT.test(key) ? shift(key, true) : key
}

/** The key a sort key stands for. */
export function fromSortKey(sortKey: string): string {
  return HIGH_UNIT.test(sortKey) ? shift(sortKey, false) : sortKey
}

/** UTF-8 length of the key a (well-formed) sort key stands for. */
export function sortKeyUtf8Length(sortKey: string): number {
  if (!NON_ASCII.test(sortKey)) return sortKey.length
  let n = 0
  for (let i = 0; i < sortKey.length; i++) {
    const c = sortKey.charCodeAt(i)
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0xf800 ? 3 : 2
  }
  return n
}

/**
 * The shortest prefix of `right` that sorts after `left` (sort keys, `left < right`): a valid
 * separator between two neighbouring keys that keeps branches small. Never splits a surrogate pair.
 */
export function separatorBetween(left: string, right: string): string {
  const n = Math.min(left.length, right.length)
  let i = 0
  while (i < n && left.charCodeAt(i) === right.charCodeAt(i)) i++
  const c = right.charCodeAt(i)
  return right.slice(0, c >= 0xf800 && c <= 0xfbff ? i + 2 : i + 1)
}
