import { ErrorCodes } from '@cartridge/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_STARS_PER_SEGMENT, checkResourcePattern, compileResourcePattern } from './resource-pattern.js'

/** The paths among `paths` that `pattern` matches. */
const matching = (pattern: string, paths: string[]) => paths.filter(compileResourcePattern(pattern))
const refused = (pattern: unknown) =>
  expect(() => compileResourcePattern(pattern as string), String(pattern)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }))

describe('resource patterns: matching', () => {
  it('* stays within one segment', () => {
    expect(matching('/data/*.txt', ['/data/file.txt', '/data/subdir/file.txt', '/data/file.json', '/data/.txt', '/data', '/datafile.txt'])).toEqual(['/data/file.txt', '/data/.txt'])
    expect(matching('/*', ['/', '/a', '/a/b'])).toEqual(['/a'])
    expect(matching('/', ['/', '/a', '/a/b'])).toEqual(['/'])
    expect(matching('/data/a*', ['/data/a', '/data/ab', '/data/a/b'])).toEqual(['/data/a', '/data/ab'])
  })

  it('** crosses segments and matches the directory itself', () => {
    const paths = ['/public', '/public/a', '/public/a/b/c.txt', '/publicity', '/Public/a', '/', '/other/public/a']
    expect(matching('/public/**', paths)).toEqual(['/public', '/public/a', '/public/a/b/c.txt'])
    expect(matching('/**', paths)).toEqual(paths)
    expect(matching('/**/public/**', paths)).toEqual(['/public', '/public/a', '/public/a/b/c.txt', '/other/public/a'])
    expect(matching('/a/**/z', ['/a/z', '/a/b/z', '/a/b/c/z', '/a/z/y', '/az'])).toEqual(['/a/z', '/a/b/z', '/a/b/c/z'])
    // cases a single micromatch expression for the whole path gets wrong
    expect(matching('/**/x', ['/x', '/a/x', '/a/b/x', '/ax'])).toEqual(['/x', '/a/x', '/a/b/x'])
    expect(matching('/a/*/**', ['/a', '/a/b', '/a/b/c'])).toEqual(['/a/b', '/a/b/c'])
    expect(matching('/**/*.txt', ['/a.txt', '/d/a.txt', '/d/e/a.txt', '/d/a.md'])).toEqual(['/a.txt', '/d/a.txt', '/d/e/a.txt'])
    expect(matching('/**/a/**/b/**', ['/a/b', '/x/a/y/b/z', '/b/a'])).toEqual(['/a/b', '/x/a/y/b/z'])
  })

  it('is case-sensitive', () => {
    expect(matching('/public/**', ['/Public/x', '/PUBLIC/x', '/public/X'])).toEqual(['/public/X'])
    expect(matching('/data/*.TXT', ['/data/a.txt', '/data/a.TXT'])).toEqual(['/data/a.TXT'])
  })

  it('matches dotfiles and dot directories with *, ? and **', () => {
    expect(matching('/data/*', ['/data/.env', '/data/.git'])).toEqual(['/data/.env', '/data/.git'])
    expect(matching('/**', ['/.git/config', '/a/.ssh/id_rsa'])).toEqual(['/.git/config', '/a/.ssh/id_rsa'])
    expect(matching('/data/?env', ['/data/.env'])).toEqual(['/data/.env'])
    expect(matching('/**/.git/**', ['/x/.git/HEAD', '/.git', '/x/git/HEAD'])).toEqual(['/x/.git/HEAD', '/.git'])
  })

  it('? is one character, [..] one of a class, {a,b} either alternative', () => {
    expect(matching('/f?.txt', ['/f1.txt', '/f.txt', '/f12.txt', '/f😀.txt', '/fé.txt'])).toEqual(['/f1.txt', '/f😀.txt', '/fé.txt'])
    expect(matching('/f[0-9].txt', ['/f1.txt', '/fa.txt', '/f[0-9].txt'])).toEqual(['/f1.txt', '/f[0-9].txt'])
    expect(matching('/f[!0-9].txt', ['/f1.txt', '/fa.txt', '/f!.txt'])).toEqual(['/fa.txt', '/f!.txt'])
    expect(matching('/f[^0-9].txt', ['/f1.txt', '/fa.txt'])).toEqual(['/fa.txt'])
    expect(matching('/d/{a,b}.txt', ['/d/a.txt', '/d/b.txt', '/d/c.txt', '/d/{a,b}.txt'])).toEqual(['/d/a.txt', '/d/b.txt', '/d/{a,b}.txt'])
    expect(matching('/d/*.{md,txt}', ['/d/x.md', '/d/x.txt', '/d/x.js'])).toEqual(['/d/x.md', '/d/x.txt'])
    expect(matching('/d/{x,{y,z}}', ['/d/x', '/d/z', '/d/w'])).toEqual(['/d/x', '/d/z'])    // a class is always a class: its own text matches only by literal equality with the whole resource
    expect(matching('/x/[ab]*', ['/x/a1', '/x/[ab]1', '/x/[ab]*'])).toEqual(['/x/a1', '/x/[ab]*'])
  })

  it('a resource equal to the path matches it literally, metacharacters and all', () => {
    expect(matching('/data/a*b.txt', ['/data/a*b.txt', '/data/aXb.txt', '/data/ab.txt'])).toEqual(['/data/a*b.txt', '/data/aXb.txt', '/data/ab.txt'])
    expect(matching('/data/[x].txt', ['/data/[x].txt', '/data/x.txt', '/data/y.txt'])).toEqual(['/data/[x].txt', '/data/x.txt'])
    expect(matching('/data/what?.txt', ['/data/what?.txt', '/data/whatX.txt'])).toEqual(['/data/what?.txt', '/data/whatX.txt'])
  })

  it('an escaped metacharacter matches only itself', () => {
    expect(matching('/data/a\\*b.txt', ['/data/a*b.txt', '/data/aXb.txt', '/data/ab.txt'])).toEqual(['/data/a*b.txt'])
    expect(matching('/data/\\[x\\].txt', ['/data/[x].txt', '/data/x.txt'])).toEqual(['/data/[x].txt'])
    expect(matching('/data/\\{a,b\\}.txt', ['/data/{a,b}.txt', '/data/a.txt'])).toEqual(['/data/{a,b}.txt'])
    expect(matching('/photos/trip \\(1\\).jpg', ['/photos/trip (1).jpg', '/photos/trip 1.jpg'])).toEqual(['/photos/trip (1).jpg'])
    expect(matching('/x/a\\|b', ['/x/a|b', '/x/a', '/x/b'])).toEqual(['/x/a|b'])
    expect(matching('/x/a\\\\b', ['/x/a\\b', '/x/ab'])).toEqual(['/x/a\\b'])
    expect(matching('/x/a\\\\\\*', ['/x/a\\*', '/x/a\\z'])).toEqual(['/x/a\\*'])
    expect(matching('/x/["]', ['/x/"', '/x/x'])).toEqual(['/x/"'])
  })

  it('other punctuation is literal (no extglobs, no regex quantifiers)', () => {
    for (const name of ['file+(1).txt', 'a!b', 'x@y', 'a,b', '$x^', 'a.b', 'a+', 'c++', '100%', "it's", 'a=b;c', '#1', '~x', '`x`', 'a&b', '<x>', 'a:b', 'a-b_c']) {
      if (/[()]/.test(name)) continue
      expect(matching(`/d/${name}`, [`/d/${name}`]), name).toEqual([`/d/${name}`])
    }
    expect(matching('/d/[ab]+', ['/d/a+', '/d/aa', '/d/ab'])).toEqual(['/d/a+'])
    expect(matching('/d/a.b', ['/d/a.b', '/d/aXb'])).toEqual(['/d/a.b'])
    expect(matching('/d/*+', ['/d/x+', '/d/xx'])).toEqual(['/d/x+'])
    expect(matching('/d/!x', ['/d/!x', '/d/y'])).toEqual(['/d/!x'])
    expect(matching('/d/x!', ['/d/x!', '/d/x'])).toEqual(['/d/x!'])
  })

  it('an escaped path matches exactly that path (property)', () => {
    const ESC = new Set('*?[]{}()|\\')
    const escape = (s: string) => [...s].map((c) => (ESC.has(c) ? '\\' + c : c === '"' ? '["]' : c)).join('')
    const char = fc.constantFrom(...'ab.*?[]{}(),|!+@$^ é😀\\"-%'.split(/(?:)/u))
    const segment = fc.array(char, { minLength: 1, maxLength: 6 }).map((cs) => cs.join('')).filter((s) => s !== '.' && s !== '..' && !s.includes('\\\\'))
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segs) => {
        const path = '/' + segs.join('/')
        const m = compileResourcePattern(escape(path))
        expect(m(path)).toBe(true)
        expect(m(path + 'x')).toBe(false)
        expect(m(path.slice(0, -1) + 'Z')).toBe(false)
        expect(m('/Z' + path.slice(1))).toBe(false)
      }),
      { numRuns: 500 },
    )
  })
})

describe('resource patterns: validation', () => {
  it('accepts normalized absolute patterns', () => {
    for (const p of ['/', '/**', '/a', '/a/**', '/**/b', '/a/*/c', '/a/b.{x,y}', '/é', '/[a-z]/*', '/**/x/**']) expect(checkResourcePattern(p)).toBe(p)
  })

  it('refuses relative, non-normalized, control-character and non-NFC patterns', () => {
    for (const p of ['', 'data/**', '*', '**', '//data', '/data//x', '/data/', '/data/./x', '/data/../x', '/./x', '/..', '/a\u0000b', '/a\u202Eb', '/a\uD800', 'e\u0301', '/e\u0301', '/' + 'a'.repeat(256)]) refused(p)
    for (const v of [undefined, null, 1, ['/a'], { p: '/a' }]) refused(v)
  })

  it('refuses regex leaks, unbalanced or empty brackets and braces, brace ranges, and bad escapes', () => {
    for (const p of [
      '/a|/private/**', '/d/(a|b)', '/d/a)', '/d/file+(1).txt', '/d/!(x)', '/d/"x"',
      '/d/[abc', '/d/abc]', '/d/[]', '/d/[!]', '/d/[a\\]]', '/d/[[:alpha:]]', '/d/[z-a]',
      '/d/{a,b', '/d/a}', '/d/{a}', '/d/{}', '/d/{1..3}', '/d/{a..c}', '/d/{a,b/c}',
      '/d/\\d', '/d/\\w', '/d/\\b', '/d/\\.', '/d/\\/x', '/d/a\\', '/d/\\é', '/d/\\\\\\\\x', '/d/\\"',
    ]) refused(p)
  })

  it(`bounds backtracking: ** only as a whole segment, at most ${MAX_STARS_PER_SEGMENT} * per segment`, () => {
    for (const p of ['/a**', '/**a', '/a/b**/c', '/{**,x}', '/x/*a*b*', '/x/{*a,*b}{*c,d}']) refused(p)
    for (const p of ['/**/a/**/b/**/c/**', '/x/*a*', '/*/*/*/*/*', '/x/\\*\\*\\*\\*', '/x/[*][*][*]*']) expect(() => compileResourcePattern(p), p).not.toThrow()
  })

  it('the worst accepted patterns stay fast on adversarial paths', () => {
    const long = 'a'.repeat(255)
    const paths = ['/a'.repeat(510), '/aa'.repeat(340), '/' + [long, long, long].join('/'), '/x/' + long]
    const patterns = ['/**/*a*/**/*b', '/**/*a*/*a*/*a*/*a*/**/*b', '/**/a*/**/a*b', '/x/*a*b', '/x/{*a,a*}b', '/**/a/**/b', '/**/*a*b/**/*a*b/**/*a*b/**/*a*b', '/**/a/**/a/**/a/**/a/**/b']
    for (const p of patterns) {
      const m = compileResourcePattern(p)
      for (const path of paths) {
        const t0 = performance.now()
        m(path)
        expect(performance.now() - t0, `${p} on a ${path.length}-byte path`).toBeLessThan(250)
      }
    }
  })
})
