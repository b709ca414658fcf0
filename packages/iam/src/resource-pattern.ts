import { normalizePath } from '@cartridge/core'
import micromatch from 'micromatch'
import { invalidArgument, show } from './validation.js'

/**
 * The exact micromatch (picomatch 2) options every resource pattern is compiled with:
 *
 * - `dot: true` — `*`, `?` and `**` match names starting with a dot: a `Deny` on `/data/**`
 *   must cover `/data/.env`.
 * - `nocase: false` — case-sensitive, like container paths (`/Public/x` is not `/public/**`).
 * - `windows: false` — `/` is the only separator and `\` always escapes, on every platform.
 * - `posix: true` — `[!a]` negates a class as in shells (otherwise it is a class of `!` and `a`).
 * - `noext: true` — no extglobs: `+(…)`, `@(…)`, `!(…)`, `?(…)`, `*(…)` would give ordinary file
 *   names such as `file+(1).txt` a second meaning, and `!(…)` widens an `Allow` in ways hard to
 *   audit; an explicit `Deny` statement says the same thing plainly.
 * - `nonegate: true` — a leading `!` never negates the whole pattern (patterns start with `/`
 *   anyway).
 * - `regex: false` — `+` is always a literal plus, never a regex quantifier after `]` or `}`.
 * - `literalBrackets: false` — `[x]` is always a class; a file literally named `[x]` is matched
 *   by an equal resource or by escaping (`\[x\]`).
 * - `fastpaths: false` — every segment goes through picomatch's full parser, never its shortcut
 *   for simple patterns (which escapes differently).
 * - `flags: 'u'` — `?` and `[…]` match one Unicode character, including those outside the BMP.
 *
 * Brace alternatives (`{a,b}`) are kept; brace ranges (`{1..3}`) are refused, since picomatch 2
 * turns `{1..10}` into the class `[1-10]`.
 */
export const RESOURCE_GLOB_OPTIONS: Readonly<Record<string, boolean | string>> = Object.freeze({
  dot: true,
  nocase: false,
  windows: false,
  posix: true,
  noext: true,
  nonegate: true,
  regex: false,
  literalBrackets: false,
  fastpaths: false,
  flags: 'u', // picomatch passes it to `new RegExp` (@types/micromatch types it as a boolean)
})

/**
 * Most `*` in one segment. A segment is matched by a backtracking regular expression: with two
 * `*` a 255-byte name costs well under a millisecond at worst, with three ~50 ms, with five
 * seconds (`*a*a*a*a*b` against `aaa…a`).
 */
export const MAX_STARS_PER_SEGMENT = 2

/** The characters a backslash may escape: the glob metacharacters and the backslash itself. */
const ESCAPABLE = new Set('*?[]{}()|\\')
/** Characters micromatch passes into its regular expression unchanged: refused unescaped. */
const REGEX_LEAKS = new Set('()|"')

function refuse(pattern: string, why: string): never {
  invalidArgument(`invalid resource ${JSON.stringify(pattern)}: ${why}`)
}

/** Checks one segment of a pattern. */
function checkSegment(pattern: string, s: string): void {
  if (s === '**') return
  let stars = 0
  const braces: boolean[] = [] // per open brace: has it a top-level comma yet
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === '\\') {
      const n = s[i + 1]
      if (n === undefined || !ESCAPABLE.has(n)) refuse(pattern, 'a backslash may only escape one of * ? [ ] { } ( ) | \\')
      if (n === '\\' && s.startsWith('\\\\', i + 2)) refuse(pattern, 'two escaped backslashes in a row (micromatch collapses them into one)')
      i++
    } else if (c === '[') {
      let j = i + 1
      if (s[j] === '!' || s[j] === '^') j++
      const first = j
      while (j < s.length && s[j] !== ']') {
        if (s[j] === '\\' || s[j] === '[') refuse(pattern, 'no \\ or [ inside a [...] class')
        j++
      }
      if (j === s.length) refuse(pattern, "an unclosed '[' (escape a literal one as \\[)")
      if (j === first) refuse(pattern, 'an empty [...] class')
      i = j
    } else if (c === ']') {
      refuse(pattern, "an unmatched ']' (escape a literal one as \\])")
    } else if (c === '{') {
      braces.push(false)
    } else if (c === ',') {
      if (braces.length > 0) braces[braces.length - 1] = true
    } else if (c === '}') {
      if (braces.length === 0) refuse(pattern, "an unmatched '}' (escape a literal one as \\})")
      if (!braces.pop()) refuse(pattern, 'a {...} without a comma (escape literal braces as \\{ \\})')
    } else if (c === '.' && s[i + 1] === '.' && braces.length > 0) {
      refuse(pattern, 'a brace range {a..b} (picomatch mis-compiles them; use [a-b] or list the values)')
    } else if (REGEX_LEAKS.has(c)) {
      refuse(pattern, `an unescaped ${JSON.stringify(c)} (micromatch reads it as regular-expression syntax; escape ( ) | with a backslash, match " with ["])`)
    } else if (c === '*') {
      if (s[i + 1] === '*') refuse(pattern, "'**' must be a whole segment (/a/**/b, not /a/b**)")
      if (++stars > MAX_STARS_PER_SEGMENT) refuse(pattern, `more than ${MAX_STARS_PER_SEGMENT} '*' in one segment`)
    }
  }
  if (braces.length > 0) refuse(pattern, "an unclosed '{' (escape a literal one as \\{)")
}

/**
 * Checks a statement's resource pattern. A resource is an absolute, normalized micromatch glob
 * over container paths:
 *
 * - it starts with `/` and is already normalized: NFC, no empty, `.` or `..` segment, no
 *   trailing `/` (except `/` itself), no control or bidirectional formatting character
 *   (`normalizePath(r) === r`);
 * - `*` matches within one segment, `?` one character, `[a-z]` / `[!a-z]` one character of a
 *   class, `{a,b}` either alternative, and `**`, as a whole segment, zero or more segments (so
 *   `/data/**` also matches `/data` itself);
 * - `\` escapes one of `* ? [ ] { } ( ) | \`;
 * - refused: unescaped `(`, `)`, `|` or `"`, an unbalanced `[ ] { }`, a brace without a comma, a
 *   brace range, `**` inside a segment, or more than {@link MAX_STARS_PER_SEGMENT} `*` in one
 *   segment (a bound on backtracking).
 *
 * @returns the pattern.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` saying what is wrong.
 */
export function checkResourcePattern(pattern: unknown): string {
  if (typeof pattern !== 'string') invalidArgument(`a resource must be a string, not ${show(pattern)}`)
  if (!pattern.startsWith('/')) refuse(pattern, "a resource is an absolute path pattern starting with '/'")
  let normal: string
  try {
    normal = normalizePath(pattern)
  } catch (err) {
    refuse(pattern, (err as Error).message)
  }
  if (normal !== pattern) refuse(pattern, `not normalized (it normalizes to ${JSON.stringify(normal)}: NFC, no empty, '.' or '..' segments, no trailing '/')`)
  for (const segment of pattern.split('/').slice(1)) checkSegment(pattern, segment)
  return pattern
}

/** A pattern segment: a test of one path segment, or `**` (any number of segments). */
type SegmentTest = ((segment: string) => boolean) | 'globstar'

/** Characters that make a pattern (or segment) a glob rather than a literal path (or name). */
const GLOB_CHARS = /[*?[\]{}\\]/

/** True when a resource pattern has a glob character, false when it can only match the path equal to it. */
export function hasGlobCharacters(pattern: string): boolean {
  return GLOB_CHARS.test(pattern)
}

/**
 * Compiles a checked resource pattern (see {@link checkResourcePattern}) into a matcher for
 * normalized paths.
 *
 * The pattern is matched segment by segment: each segment that is not `**` is precompiled with
 * `micromatch.matcher` (segments without glob characters are compared as strings), and `**`
 * matches zero or more whole segments wherever it stands, by a greedy walk that costs at most
 * (pattern segments × path segments) segment tests. One micromatch expression for the whole
 * path would not do: picomatch 2 does not let a `**` just after the leading `/`, or one after
 * a `*` segment, match zero segments (so `/a/*` + `/**` would miss `/a/b`), and its backtracking
 * across segments is what makes some patterns take seconds.
 *
 * A path equal to the pattern always matches, even when it holds glob metacharacters
 * (`/data/a*b.txt` is matched by the resource `/data/a*b.txt`, which as a glob also matches
 * `/data/aXb.txt`; the resource `/data/a\*b.txt` matches only the first).
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for a pattern {@link checkResourcePattern}
 * refuses, or one micromatch cannot compile (a reversed range such as `[z-a]`).
 */
export function compileResourcePattern(pattern: string): (path: string) => boolean {
  checkResourcePattern(pattern)
  const tests: SegmentTest[] = splitPath(pattern).map((segment): SegmentTest => {
    if (segment === '**') return 'globstar'
    if (!GLOB_CHARS.test(segment)) return (s) => s === segment
    // picomatch turns an expression it cannot build into /$^/ (matches nothing): a Deny that
    // silently matched nothing would be a hole, so refuse it.
    if (micromatch.makeRe(segment, RESOURCE_GLOB_OPTIONS as micromatch.Options).source === '$^') refuse(pattern, `micromatch cannot compile ${JSON.stringify(segment)} (a reversed range such as [z-a]?)`)
    return micromatch.matcher(segment, RESOURCE_GLOB_OPTIONS as micromatch.Options)
  })
  // The leading segments without glob characters must equal the path's first segments (no
  // `**` stands before them to absorb a mismatch): a cheap test that rejects most paths before
  // the segments are split and matched.
  const parts = splitPath(pattern)
  let k = 0
  while (k < parts.length && tests[k] !== 'globstar' && !GLOB_CHARS.test(parts[k])) k++
  const prefix = k === 0 ? '' : '/' + parts.slice(0, k).join('/')
  // Literal segments then only `**` (`/**`, `/data/**`): the prefix test is the whole match.
  if (tests.length > k && tests.slice(k).every((t) => t === 'globstar')) {
    return (path) => path === pattern || prefix === '' || (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47))
  }
  return (path) => {
    if (path === pattern) return true
    if (prefix !== '' && !(path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47))) return false
    return matchSegments(tests, splitPath(path))
  }
}

/**
 * The first segment every path a checked resource pattern matches begins with (`''` for the
 * pattern `/`, which matches only `/`), or undefined when the pattern's first segment has glob
 * characters or is `**`, so paths of any first segment may match.
 */
export function firstLiteralSegment(pattern: string): string | undefined {
  const first = splitPath(pattern)[0]
  if (first === undefined) return ''
  return first === '**' || GLOB_CHARS.test(first) ? undefined : first
}

/** The first segment of a normalized path (`''` for `/`). */
export function firstSegment(path: string): string {
  const end = path.indexOf('/', 1)
  return end < 0 ? path.slice(1) : path.slice(1, end)
}

/** The segments of a normalized path or pattern (none for `/`). */
function splitPath(p: string): string[] {
  return p === '/' ? [] : p.slice(1).split('/')
}

/**
 * Whether `parts` match `tests`, `'globstar'` matching any run of segments: the greedy
 * wildcard walk (advance; on a mismatch, let the last `**` take one more segment and retry).
 */
function matchSegments(tests: readonly SegmentTest[], parts: readonly string[]): boolean {
  let i = 0 // in parts
  let j = 0 // in tests
  let star = -1 // index in tests of the last globstar seen
  let mark = 0 // parts index that globstar has consumed up to
  while (i < parts.length) {
    const t = tests[j]
    if (j < tests.length && t !== 'globstar' && t(parts[i])) {
      i++
      j++
    } else if (j < tests.length && t === 'globstar') {
      star = j++
      mark = i
    } else if (star >= 0) {
      j = star + 1
      i = ++mark
    } else {
      return false
    }
  }
  while (j < tests.length && tests[j] === 'globstar') j++
  return j === tests.length
}
