import { readFileSync, writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { bytes, flipByte, rng, sameBytes, tempDir } from './testing/helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())


describe('corruption', () => {
  it('a flipped byte in a content page is CARTRIDGE_CHECKSUM naming the page, never data', async () => {
    const path = tmp.path('flip.cart')
    const cart = await Cartridge.create('flip', 'F', { path })
    await cart.write('/victim', bytes(200_000, 1))
    await cart.write('/other', bytes(5_000, 2))
    await cart.close()
    const re = await Cartridge.open(path)
    const first = (await re.check()).problems
    expect(first).toEqual([])
    await re.close()
    // Find the victim's first content page: the page whose bytes equal the start of its data.
    const image = readFileSync(path)
    const needle = Buffer.from(bytes(200_000, 1).subarray(0, 64))
    const at = image.indexOf(needle)
    expect(at % 4096).toBe(0)
    flipByte(path, at + 1000)
    const broken = await Cartridge.open(path)
    await expect(broken.read('/victim')).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', page: at / 4096, path: '/victim' })
    expect(sameBytes(await broken.read('/other'), bytes(5_000, 2))).toBe(true)
    const report = await broken.check({ data: true })
    expect(report.ok).toBe(false)
    expect(report.problems.join('\n')).toMatch(/victim.*checksum/)
    // One bad chunk is one problem: the file's other chunks are not reported as leaks.
    expect(report.problems).toHaveLength(1)
    await broken.close()
  })

  it('a flipped byte in a catalog page is CARTRIDGE_CHECKSUM', async () => {
    const path = tmp.path('catalog.cart')
    const cart = await Cartridge.create('catalog', 'C', { path })
    await cart.write('/inline-file', 'tiny content kept inline in the catalog leaf')
    await cart.close()
    const image = readFileSync(path)
    const at = image.indexOf(Buffer.from('tiny content kept inline'))
    flipByte(path, at + 3)
    // Opening verifies only what the newest commit wrote (an empty closing commit): it opens, and the read fails.
    const broken = await Cartridge.open(path).catch((e) => e)
    if (broken instanceof Error) {
      expect(broken).toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
    } else {
      await expect(broken.read('/inline-file')).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM' })
      await broken.close()
    }
  })

  it('a flipped byte in the newest meta page opens at the other meta page’s commit', async () => {
    const path = tmp.path('meta.cart')
    const cart = await Cartridge.create('meta', 'M', { path, durability: 'full' })
    await cart.write('/one', 'first')
    await cart.write('/two', 'second')
    const txn = (await cart.info()).txn
    await cart.close()
    // The closing commit is txn+1; find its slot and damage it.
    const image = readFileSync(path)
    const txnOf = (slot: number) => image.readUInt32LE(slot * 4096 + 16)
    const newest = txnOf(0) > txnOf(1) ? 0 : 1
    expect(txnOf(newest)).toBe(txn + 1)
    flipByte(path, newest * 4096 + 40)
    const re = await Cartridge.open(path)
    expect((await re.info()).txn).toBe(txn)
    expect(await re.list('/')).toEqual(['/one', '/two'])
    await re.close()
  })

  it('an empty file, a wrong magic, a truncated file and random garbage open as CARTRIDGE_CORRUPT', async () => {
    const cases: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['short', new Uint8Array(100)],
      ['magic', new Uint8Array(12288).fill(0x41)],
      ['garbage', bytes(65536, 7)],
    ]
    for (const [name, content] of cases) {
      const p = tmp.path(`${name}.cart`)
      writeFileSync(p, content)
      await expect(Cartridge.open(p)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
    }
    const good = tmp.path('trunc.cart')
    const cart = await Cartridge.create('trunc', 'T', { path: good })
    await cart.write('/a', bytes(300_000, 3))
    await cart.close()
    writeFileSync(good, readFileSync(good).subarray(0, 5000))
    await expect(Cartridge.open(good)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
  })

  it('what is not a container says what it is', async () => {
    const text = tmp.path('notes.txt')
    writeFileSync(text, 'x'.repeat(1221))
    await expect(Cartridge.open(text)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT', message: expect.stringMatching(/wrong magic/) })
    const empty = tmp.path('empty.cart')
    writeFileSync(empty, '')
    await expect(Cartridge.open(empty)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT', message: expect.stringMatching(/empty/) })
    const real = tmp.path('real.cart')
    await (await Cartridge.create('real', 'R', { path: real })).close()
    const cut = tmp.path('cut.cart')
    writeFileSync(cut, readFileSync(real).subarray(0, 5000))
    await expect(Cartridge.open(cut)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT', message: expect.stringMatching(/truncated/) })
    await expect(Cartridge.open(tmp.dir)).rejects.toMatchObject({ code: 'CARTRIDGE_IS_A_DIRECTORY', message: expect.stringMatching(/is a directory/) })
    await expect(Cartridge.create('x', 'X', { path: tmp.path('no/such/folder/x.cart') })).rejects.toMatchObject({
      code: 'CARTRIDGE_NOT_FOUND', message: expect.stringMatching(/folder .*no\/such\/folder does not exist/),
    })
  })

  it('random byte flips never crash or hang: every outcome is data or a CARTRIDGE_* error', async () => {
    const path = tmp.path('fuzz-src.cart')
    const cart = await Cartridge.create('fuzz', 'F', { path })
    for (let i = 0; i < 30; i++) await cart.write(`/d${i % 4}/f${i}`, bytes([10, 900, 5000, 90_000][i % 4], i))
    await cart.close()
    const original = readFileSync(path)
    const random = rng(5)
    for (let trial = 0; trial < 60; trial++) {
      const image = Buffer.from(original)
      for (let k = 0; k < 1 + Math.floor(random() * 8); k++) image[Math.floor(random() * image.length)] ^= 1 + Math.floor(random() * 255)
      const p = tmp.path(`fuzz-${trial}.cart`)
      writeFileSync(p, image)
      try {
        const c = await Cartridge.open(p)
        for (const f of await c.list('/')) await c.read(f).catch((e) => expect(e.code).toMatch(/^CARTRIDGE_/))
        await c.check({ data: true })
        await c.close()
      } catch (e) {
        expect((e as { code?: string }).code).toMatch(/^CARTRIDGE_/)
      }
    }
  })
})
