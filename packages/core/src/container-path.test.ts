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
    for (const bad of ['', '/..', '/a/../..', '/a\u0000b', '/a\nb', '/' + 'x'.repeat(256), ('/' + 'x'.repeat(200)).repeat(6)]) {
      expect(() => normalizePath(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_PATH' }))
    }
  })

  it('returns already-normal paths unchanged and agrees with a step-by-step model on random paths', () => {
    const rand = seededRandom(99)
    const alphabet = ['a', 'b', '.', '..', '/', '//', 'é', ' ', '~', '\u007f', 'x'.repeat(255), 'y'.repeat(256)]
    const model = (input: string): string | 'error' => {
      if (input.length === 0 || /[\u0000-\u001f\u007f]/.test(input)) return 'error'
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
