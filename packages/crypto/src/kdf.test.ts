import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRYPT, checkKdfParams, deriveKey, newKdfParams, type KdfParams } from './index.js'
import { scryptBytes } from './kdf.js'

const code = (c: string) => expect.objectContaining({ code: c })
const fast = (salt = new Uint8Array(32).fill(9)): KdfParams => ({ kind: 'scrypt', logN: 10, r: 8, p: 1, salt })

describe('scrypt key derivation', () => {
  it('matches RFC 7914 §12 (N = 1024, r = 8, p = 16) in both implementations', () => {
    const expected = 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640'
    const password = new TextEncoder().encode('password'), salt = new TextEncoder().encode('NaCl')
    for (const impl of ['node:crypto', 'noble'] as const) {
      expect(Buffer.from(scryptBytes(password, salt, { logN: 10, r: 8, p: 16 }, 64, impl)).toString('hex'), impl).toBe(expected)
    }
  })

  it('derives 32 bytes, identical through node:crypto and noble, NFC-normalizing the passphrase', () => {
    const params = fast()
    const a = deriveKey('correct horse', params, 'node:crypto')
    expect(a.length).toBe(32)
    expect(deriveKey('correct horse', params, 'noble')).toEqual(a)
    expect(deriveKey('correct horsf', params)).not.toEqual(a)
    expect(deriveKey('correct horse', fast(new Uint8Array(32).fill(8)))).not.toEqual(a)
    expect(deriveKey('correct horse', { ...params, r: 4 })).not.toEqual(a)
    // "é" precomposed (U+00E9) and decomposed (e + U+0301) are the same passphrase.
    expect(deriveKey('caf\u00e9', params)).toEqual(deriveKey('cafe\u0301', params, 'noble'))
  })

  it('refuses an empty passphrase', () => {
    expect(() => deriveKey('', fast())).toThrow(code('CARTRIDGE_INVALID_ARGUMENT'))
  })

  it('makes fresh parameters with a random 32-byte salt and the default cost', () => {
    const a = newKdfParams(), b = newKdfParams()
    expect(a).toMatchObject({ kind: 'scrypt', logN: 17, r: 8, p: 1 })
    expect(a.salt.length).toBe(32)
    expect(a.salt).not.toEqual(b.salt)
    expect(newKdfParams({ logN: 10, r: 8, p: 1 }).logN).toBe(10)
    expect(() => newKdfParams({ logN: 9, r: 8, p: 1 })).toThrow(code('CARTRIDGE_INVALID_ARGUMENT'))
  })

  it('accepts only parameters a reader can afford, with the code the caller asks for', () => {
    const ok = fast()
    for (const good of [ok, { ...ok, logN: 22, r: 2 }, { ...ok, logN: 10, r: 32, p: 16 }, { ...ok, logN: 20, r: 8 }]) {
      expect(() => checkKdfParams(good, 'CARTRIDGE_CORRUPT')).not.toThrow()
    }
    const bad: KdfParams[] = [
      { ...ok, logN: 9 }, { ...ok, logN: 23 }, { ...ok, r: 0 }, { ...ok, r: 33 }, { ...ok, p: 0 }, { ...ok, p: 17 },
      { ...ok, logN: 10.5 }, { ...ok, salt: new Uint8Array(31) },
      { ...ok, logN: 22, r: 8 }, // 4 GiB of scrypt memory: every field in range, the product is not
      { ...ok, kind: 'argon2' as 'scrypt' },
    ]
    for (const b of bad) {
      expect(() => checkKdfParams(b, 'CARTRIDGE_CORRUPT'), JSON.stringify({ ...b, salt: b.salt.length })).toThrow(
        expect.objectContaining({ code: 'CARTRIDGE_CORRUPT', message: expect.stringContaining('key parameters out of range') }))
      expect(() => deriveKey('x', b)).toThrow(code('CARTRIDGE_INVALID_ARGUMENT'))
    }
  })

  it('derives with the default cost (N = 2^17, r = 8: 128 MiB) in both implementations', () => {
    expect(DEFAULT_SCRYPT).toEqual({ logN: 17, r: 8, p: 1 })
    const params = newKdfParams()
    const a = deriveKey('a passphrase', params, 'node:crypto')
    expect(deriveKey('a passphrase', params, 'noble')).toEqual(a)
  })
})
