import { viewOf } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { KeySlot, NobleAead, NodeAead, deriveKey, readKeySlot, type Aead, type KdfParams } from './index.js'
import { CountingNonces, testKey } from './test-fixtures.js'

const params = (): KdfParams => ({ kind: 'scrypt', logN: 10, r: 8, p: 1, salt: new Uint8Array(32).map((_, i) => i + 1) })
const fail = (c: string, message?: RegExp) => expect.objectContaining({ code: c, ...(message ? { message: expect.stringMatching(message) } : {}) })

/** A KeySlot that counts derivations. */
function counting(aead: Aead = new NodeAead()) {
  const calls = { n: 0 }
  const slot = new KeySlot({ aead, derive: (pw, p) => { calls.n++; return deriveKey(pw, p) } })
  return { slot, calls }
}

describe('KeySlot', () => {
  it('writes the header layout exactly: raw key', () => {
    const dataKey = testKey(1)
    const h = new KeySlot().wrapDataKey(dataKey, { key: testKey(2) })
    const v = viewOf(h)
    expect(h.length).toBe(128)
    expect(new TextDecoder().decode(h.subarray(0, 8))).toBe('CARTRIDG')
    expect([v.getUint16(8, true), v.getUint16(10, true), v.getUint32(12, true)]).toEqual([2, 0, 4096])
    expect([...h.subarray(16, 21)]).toEqual([1, 0, 0, 0, 0])
    expect(h.subarray(21, 64).every((b) => b === 0)).toBe(true) // reserved + zero salt
    expect(h.subarray(124, 128).every((b) => b === 0)).toBe(true)
    // The wrapped key is GCM of the data key under the KEK with AAD = bytes 0..63.
    const node = new NodeAead()
    expect(node.open(testKey(2), h.subarray(64, 76), h.subarray(76, 108), h.subarray(0, 64), h.subarray(108, 124))).toEqual(dataKey)
    expect(new KeySlot().unwrapDataKey(h, { key: testKey(2) })).toEqual(dataKey)
    expect(readKeySlot(h)).toEqual({ kdf: 'key' })
  })

  it('writes the header layout exactly: passphrase', () => {
    const dataKey = testKey(1)
    const p = params()
    const h = new KeySlot().wrapDataKey(dataKey, { passphrase: 'hunter2' }, p)
    expect([...h.subarray(16, 21)]).toEqual([1, 1, 10, 8, 1])
    expect(h.subarray(21, 32).every((b) => b === 0)).toBe(true)
    expect(h.subarray(32, 64)).toEqual(p.salt)
    const kek = deriveKey('hunter2', p)
    expect(new NodeAead().open(kek, h.subarray(64, 76), h.subarray(76, 108), h.subarray(0, 64), h.subarray(108, 124))).toEqual(dataKey)
    expect(new KeySlot().unwrapDataKey(h, { passphrase: 'hunter2' })).toEqual(dataKey)
    expect(readKeySlot(h)).toEqual({ kdf: 'passphrase', params: p })
  })

  it('gives the same header through node:crypto and noble with the same nonce, and each unwraps the other', () => {
    for (const source of [{ key: testKey(3) }, { passphrase: 'pässwörd' }]) {
      const kp = 'passphrase' in source ? params() : undefined
      const a = new KeySlot({ aead: new NodeAead(), nonces: new CountingNonces() }).wrapDataKey(testKey(1), source, kp)
      const b = new KeySlot({ aead: new NobleAead(), nonces: new CountingNonces() }).wrapDataKey(testKey(1), source, kp)
      expect(a).toEqual(b)
      expect(new KeySlot({ aead: new NobleAead() }).unwrapDataKey(a, source)).toEqual(testKey(1))
      expect(new KeySlot({ aead: new NodeAead() }).unwrapDataKey(b, source)).toEqual(testKey(1))
    }
  })

  it('uses a random wrap nonce by default', () => {
    const slot = new KeySlot()
    const a = slot.wrapDataKey(testKey(1), { key: testKey(2) }), b = slot.wrapDataKey(testKey(1), { key: testKey(2) })
    expect(a.subarray(64, 76)).not.toEqual(b.subarray(64, 76))
    expect(a.subarray(76, 124)).not.toEqual(b.subarray(76, 124))
  })

  it('refuses a wrong key or passphrase with CARTRIDGE_BAD_KEY', () => {
    for (const aead of [new NodeAead(), new NobleAead()]) {
      const slot = new KeySlot({ aead })
      const raw = slot.wrapDataKey(testKey(1), { key: testKey(2) })
      expect(() => slot.unwrapDataKey(raw, { key: testKey(3) })).toThrow(fail('CARTRIDGE_BAD_KEY', /wrong key or passphrase/))
      const pw = slot.wrapDataKey(testKey(1), { passphrase: 'right' }, params())
      expect(() => slot.unwrapDataKey(pw, { passphrase: 'wrong' })).toThrow(fail('CARTRIDGE_BAD_KEY', /wrong key or passphrase/))
      expect(() => slot.unwrapDataKey(pw, { passphrase: 'Right' })).toThrow(fail('CARTRIDGE_BAD_KEY'))
    }
  })

  it('says which kind of secret the container needs', () => {
    const slot = new KeySlot()
    const raw = slot.wrapDataKey(testKey(1), { key: testKey(2) })
    const pw = slot.wrapDataKey(testKey(1), { passphrase: 'right' }, params())
    expect(() => slot.unwrapDataKey(raw, { passphrase: 'right' })).toThrow(fail('CARTRIDGE_BAD_KEY', /encrypted with a raw 256-bit key; a passphrase was given/))
    expect(() => slot.unwrapDataKey(pw, { key: testKey(2) })).toThrow(fail('CARTRIDGE_BAD_KEY', /encrypted with a passphrase; a raw key was given/))
    // A wrong-length key for a passphrase container: the kind is the more useful complaint.
    expect(() => slot.unwrapDataKey(pw, { key: new Uint8Array(16) })).toThrow(fail('CARTRIDGE_BAD_KEY', /passphrase/))
  })

  it('refuses a raw key that is not 32 bytes with CARTRIDGE_BAD_KEY', () => {
    const slot = new KeySlot()
    const raw = slot.wrapDataKey(testKey(1), { key: testKey(2) })
    for (const key of [new Uint8Array(16), new Uint8Array(33), new Uint8Array(0)]) {
      expect(() => slot.unwrapDataKey(raw, { key })).toThrow(fail('CARTRIDGE_BAD_KEY', /32 bytes/))
      expect(() => slot.wrapDataKey(testKey(1), { key })).toThrow(fail('CARTRIDGE_BAD_KEY', /32 bytes/))
    }
  })

  it('refuses bad arguments with CARTRIDGE_INVALID_ARGUMENT', () => {
    const slot = new KeySlot()
    const pw = slot.wrapDataKey(testKey(1), { passphrase: 'right' }, params())
    expect(() => slot.unwrapDataKey(pw, { passphrase: '' })).toThrow(fail('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => slot.wrapDataKey(testKey(1), { passphrase: '' }, params())).toThrow(fail('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => slot.wrapDataKey(new Uint8Array(31), { key: testKey(2) })).toThrow(fail('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => slot.wrapDataKey(testKey(1), { key: testKey(2) }, params())).toThrow(fail('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => slot.wrapDataKey(testKey(1), { passphrase: 'x' }, { ...params(), logN: 30 })).toThrow(fail('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => slot.unwrapDataKey(pw, { key: testKey(2), passphrase: 'right' } as never)).toThrow(fail('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => slot.unwrapDataKey(pw, {} as never)).toThrow(fail('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => slot.unwrapDataKey(pw.subarray(0, 100), { passphrase: 'right' })).toThrow(fail('CARTRIDGE_INVALID_ARGUMENT'))
  })

  it('refuses forged scrypt parameters with CARTRIDGE_CORRUPT before deriving anything', () => {
    const { slot, calls } = counting()
    const pw = slot.wrapDataKey(testKey(1), { passphrase: 'right' }, params())
    calls.n = 0
    for (const [at, value] of [[18, 9], [18, 23], [18, 255], [19, 0], [19, 33], [20, 0], [20, 17]] as const) {
      const forged = Uint8Array.from(pw)
      forged[at] = value
      expect(() => slot.unwrapDataKey(forged, { passphrase: 'right' }), `byte ${at} = ${value}`).toThrow(fail('CARTRIDGE_CORRUPT', /key parameters out of range/))
    }
    // logN 22 with r 8 is 4 GiB of scrypt memory.
    const big = Uint8Array.from(pw)
    big[18] = 22
    expect(() => slot.unwrapDataKey(big, { passphrase: 'right' })).toThrow(fail('CARTRIDGE_CORRUPT', /key parameters out of range/))
    expect(() => readKeySlot(big)).toThrow(fail('CARTRIDGE_CORRUPT'))
    expect(calls.n).toBe(0)
  })

  it('reports a page it cannot read by the stable codes', () => {
    const slot = new KeySlot()
    const raw = slot.wrapDataKey(testKey(1), { key: testKey(2) })
    const edit = (at: number, value: number) => { const b = Uint8Array.from(raw); b[at] = value; return b }
    expect(() => slot.unwrapDataKey(edit(0, 0x41), { key: testKey(2) })).toThrow(fail('CARTRIDGE_CORRUPT', /magic/))
    expect(() => slot.unwrapDataKey(edit(8, 1), { key: testKey(2) })).toThrow(fail('CARTRIDGE_UNSUPPORTED'))
    expect(() => slot.unwrapDataKey(edit(8, 3), { key: testKey(2) })).toThrow(fail('CARTRIDGE_UNSUPPORTED'))
    expect(() => slot.unwrapDataKey(edit(13, 0x20), { key: testKey(2) })).toThrow(fail('CARTRIDGE_UNSUPPORTED', /page size/))
    expect(() => slot.unwrapDataKey(edit(16, 2), { key: testKey(2) })).toThrow(fail('CARTRIDGE_UNSUPPORTED', /cipher/))
    expect(() => slot.unwrapDataKey(edit(17, 2), { key: testKey(2) })).toThrow(fail('CARTRIDGE_UNSUPPORTED', /key-derivation/))
  })

  it('derives a passphrase once per (passphrase, salt, cost) and forgets on clear()', () => {
    const { slot, calls } = counting()
    const header = slot.wrapDataKey(testKey(1), { passphrase: 'right' }, params())
    expect(calls.n).toBe(1)
    // Both meta slots carry the same header: one derivation in all.
    expect(slot.unwrapDataKey(header, { passphrase: 'right' })).toEqual(testKey(1))
    expect(slot.unwrapDataKey(Uint8Array.from(header), { passphrase: 'right' })).toEqual(testKey(1))
    expect(calls.n).toBe(1)
    expect(() => slot.unwrapDataKey(header, { passphrase: 'wrong' })).toThrow(fail('CARTRIDGE_BAD_KEY'))
    expect(calls.n).toBe(2)
    const otherSalt = slot.wrapDataKey(testKey(1), { passphrase: 'right' }, { ...params(), salt: new Uint8Array(32) })
    expect(calls.n).toBe(3)
    expect(slot.unwrapDataKey(otherSalt, { passphrase: 'right' })).toEqual(testKey(1))
    expect(calls.n).toBe(3)
    slot.clear()
    expect(slot.unwrapDataKey(header, { passphrase: 'right' })).toEqual(testKey(1))
    expect(calls.n).toBe(4)
    // Another object derives on its own.
    const { slot: other, calls: otherCalls } = counting(new NobleAead())
    expect(other.unwrapDataKey(header, { passphrase: 'right' })).toEqual(testKey(1))
    expect(otherCalls.n).toBe(1)
  })
})
