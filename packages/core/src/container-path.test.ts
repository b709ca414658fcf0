import { describe, expect, it } from 'vitest'
import { normalizePath } from './container-path.js'
import { seededRandom } from './seeded-random.js'

describe('normalizePath', () => {
  it('normalizes the documented cases', () => {
    expect(normalizePath('/a/./b//../c')).toBe('/a/c')
    expect(normalizePath('a/b/')).toBe('/a/b')
    expect(normalizePath('/')).toBe('/')
    expect(normalizePath('/.hidden/..x/...')).toBe('/.hidden/..x/...')
    expect(normalizePath('/cafe\u0301')).toBe('/caf\u00e9')
    expect(normalizePath('/emoji/\ud83d\ude00')).toBe('/emoji/\ud83d\ude00')
    expect(normalizePath('/\u00a0nbsp/\u200bzwsp')).toBe('/\u00a0nbsp/\u200bzwsp')
    for (const bad of [
      '', '/..', '/a/../..', '/a\u0000b', '/a\nb', '/a\u0085b', '/a\u009fb', '/invoice\u202efdp.exe', '/a\u200fb', '/a\u2066b', '/a\u061cb',
      '/lone\ud800', '/lone\udc00x',
'/' + 'x'.repeat(256), ('/' + 'x'.repeat(200)).repeat(6),
    ]) {
      expect(() => normalizePath(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_PATH' }))
    }
  })

  it('returns already-normal paths unchanged and agrees with a step-by-step model on random paths', () => {
    const rand = seededRandom(99)
    const alphabet = ['a', 'b', '.', '..', '/', '//', 'é', ' ', '~', '\u007f', '\u0090', '\u202e', '\ud800', '😀', 'x'.repeat(255), 'y'.repeat(256)]
    const model = (input: string): string | 'error' => {
      if (input.length === 0 || /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(input)) return 'error'
      if (/\p{Surrogate}/u.test(input)) return 'error'
      const parts: string[] = []
      for (const seg of input.normalize('NFC').split('/')) {
        if (seg === '' || seg === '.') continue
        if (seg === '..') {
          if (parts.length === 0) return 'error'
          parts.pop()
        } else if (Buffer.byteLength(seg) > 255) return 'error'
        else parts.push(seg)
      }
      const out = '/' + parts.join('/')
      return Buffer.byteLength(out) > 1024 ? 'error' : out
    }
    for (let n = 0; n < 5000; n++) {
      let p = rand() < 0.7 ? '/' : ''
      const len = 1 + Math.floor(rand() * 8)
      for (let i = 0; i < len; i++) p += alphabet[Math.floor(rand() * alphabet.length)] + (rand() < 0.5 ? '/' : '')
      const want = model(p)
      if (want === 'error') expect(() => normalizePath(p), JSON.stringify(p)).toThrow()
      else {
        expect(normalizePath(p), JSON.stringify(p)).toBe(want)
        expect(normalizePath(want)).toBe(want)
      }
    }
  })
})
