/**
 * Compiles a `StringLike` pattern: `*` matches any run of characters (including none and
 * including `/`), `?` exactly one character (a Unicode code point), anything else itself,
 * case-sensitively. There is no escape: to test a value holding `*` or `?` literally, use
 * `StringEquals`.
 *
 * The match is the classic greedy two-pointer wildcard algorithm, O(pattern × value) at worst,
 * never exponential, whatever the pattern (unlike a backtracking regular expression).
 */
export function compileStringLike(pattern: string): (value: string) => boolean {
  const p = Array.from(pattern)
  if (!p.includes('*') && !p.includes('?')) return (value) => value === pattern
  return (value) => {
    const s = Array.from(value)
    let i = 0 // position in s
    let j = 0 // position in p
    let star = -1 // index in p of the last `*` seen
    let mark = 0 // position in s that the last `*` has consumed up to
    while (i < s.length) {
      if (j < p.length && (p[j] === '?' || (p[j] !== '*' && p[j] === s[i]))) {
        i++
        j++
      } else if (j < p.length && p[j] === '*') {
        star = j++
        mark = i
      } else if (star >= 0) {
        j = star + 1
        i = ++mark
      } else {
        return false
      }
    }
    while (j < p.length && p[j] === '*') j++
    return j === p.length
  }
}
