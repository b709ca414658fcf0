import { statSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { bytes, rng, sameBytes, tempDir } from './testing/helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

describe('growth and scale', () => {
  it('starts at 12,288 bytes and doubles at least 4 times within 20 files of 256 KiB, keeping earlier data', async () => {
    const path = tmp.path('grow.cart')
    const cart = await Cartridge.create('grow', 'G', { path })
    const sizes = [statSync(path).size]
    expect(sizes[0]).toBe(12288)
    for (let i = 0; i < 20; i++) {
      await cart.write(`/f${i}`, bytes(256 * 1024, i))
      const s = statSync(path).size
      if (s !== sizes[sizes.length - 1]) sizes.push(s)
    }
    const doublings = sizes.slice(1).filter((s, i) => s >= sizes[i] * 2).length
    expect(doublings).toBeGreaterThanOrEqual(4)
    for (let i = 0; i < 20; i++) expect(sameBytes(await cart.read(`/f${i}`), bytes(256 * 1024, i))).toBe(true)
    await cart.close()
  })

  it('1,000 files of 100 KiB read back byte-identical after reopen, in a file at most 2× the bytes stored', async () => {
    const path = tmp.path('thousand.cart')
    const cart = await Cartridge.create('thousand', 'T', { path, durability: 'none' })
    const size = 100 * 1024
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => cart.write(`/data/${batch}/${j}.bin`, bytes(size, batch * 100 + j))))
    }
    await cart.close()
    expect(statSync(path).size).toBeLessThanOrEqual(2 * 1000 * size)
    const re = await Cartridge.open(path)
    for (let batch = 0; batch < 10; batch++) {
      for (let j = 0; j < 100; j++) expect(sameBytes(await re.read(`/data/${batch}/${j}.bin`), bytes(size, batch * 100 + j))).toBe(true)
    }
    expect((await re.info()).fileCount).toBe(1000)
    await re.close()
  })

  it('lists 10,000 small files', async () => {
    const cart = await Cartridge.create('many', 'M', { path: tmp.path('many.cart') })
    await cart.transaction(async (tx) => {
      for (let i = 0; i < 10_000; i++) await tx.write(`/small/${String(i).padStart(5, '0')}.txt`, `file number ${i}`)
    })
    const list = await cart.list('/small')
    expect(list.length).toBe(10_000)
    expect(list[0]).toBe('/small/00000.txt')
    expect(list[9999]).toBe('/small/09999.txt')
    expect((await cart.readdir('/small')).length).toBe(10_000)
    expect(new TextDecoder().decode(await cart.read('/small/04321.txt'))).toBe('file number 4321')
    await cart.close()
  })

  it('200 files with long nested names, delete 50, add 150, reopen → 300', async () => {
    const path = tmp.path('nested.cart')
    const cart = await Cartridge.create('nested', 'N', { path })
    const name = (i: number) => `/${'deeply-nested-directory-name'.repeat(2)}/${'level-two-with-a-long-name'.repeat(3)}/${i % 7}/file-with-a-rather-long-name-${i}.txt`
    for (let i = 0; i < 200; i++) await cart.write(name(i), `content ${i}`)
    for (let i = 0; i < 200; i += 4) await cart.delete(name(i))
    for (let i = 200; i < 350; i++) await cart.write(name(i), `content ${i}`)
    await cart.close()
    const re = await Cartridge.open(path)
    const list = await re.list('/')
    expect(list.length).toBe(300)
    for (const p of list) {
      const i = Number(/-(\d+)\.txt$/.exec(p)![1])
      expect(new TextDecoder().decode(await re.read(p))).toBe(`content ${i}`)
    }
    await re.close()
  })

  it('churn: survivors readable, free space rises after deletes, no page has two owners', async () => {
    const cart = await Cartridge.create('churn', 'C', { path: tmp.path('churn.cart') })
    const random = rng(11)
    const alive = new Map<string, Uint8Array>()
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        const size = [10, 600, 5000, 70_000, 300_000][Math.floor(random() * 5)]
        const data = bytes(size, round * 100 + i)
        await cart.write(`/r${round}/f${i}`, data)
        alive.set(`/r${round}/f${i}`, data)
      }
      const freeBefore = (await cart.info()).freeBlocks
      for (let i = 1; i < 20; i += 2) {
        await cart.delete(`/r${round}/f${i}`)
        alive.delete(`/r${round}/f${i}`)
      }
      expect((await cart.info()).freeBlocks).toBeGreaterThan(freeBefore)
      for (const [p, d] of alive) expect(sameBytes(await cart.read(p), d)).toBe(true)
      const report = await cart.check({ data: true })
      expect(report.problems).toEqual([])
      expect(report.files).toBe(alive.size)
    }
    await cart.close()
  })

  it('writing past maxBlocks fails with CARTRIDGE_FULL and leaves the last commit', async () => {
    const path = tmp.path('full.cart')
    const cart = await Cartridge.create('full', 'F', { path, maxBlocks: 64 })
    await cart.write('/a', bytes(100_000, 1))
    const before = await cart.info()
    await expect(cart.write('/b', bytes(400_000, 2))).rejects.toMatchObject({ code: 'CARTRIDGE_FULL' })
    expect(await cart.list('/')).toEqual(['/a'])
    expect(sameBytes(await cart.read('/a'), bytes(100_000, 1))).toBe(true)
    const after = await cart.info()
    expect(after.totalBlocks).toBe(before.totalBlocks)
    expect(after.freeBlocks).toBe(before.freeBlocks)
    expect((await cart.check()).ok).toBe(true)
    await cart.write('/c', 'still works')
    await cart.close()
    expect(statSync(path).size).toBeLessThanOrEqual(64 * 4096)
  })
})

describe('running out of room', () => {
  it('every CARTRIDGE_FULL, in an operation or in its commit, leaves the last commit intact', async () => {
    const cart = await Cartridge.create('tight', 'T', { path: tmp.path('tight.cart'), maxBlocks: 40 })
    const random = rng(21)
    const model = new Map<string, Uint8Array>()
    let fulls = 0
    let atCommit = 0
    for (let i = 0; i < 400; i++) {
      const p = `/f${Math.floor(random() * 60)}`
      const data = bytes([20, 700, 3000, 9000, 30_000][Math.floor(random() * 5)], i)
      try {
        if (random() < 0.2 && model.size > 0) {
          const victim = [...model.keys()][0]
          await cart.delete(victim)
          model.delete(victim)
        } else {
          await cart.write(p, data)
          model.set(p, data)
        }
      } catch (err) {
        expect((err as { code?: string }).code).toBe('CARTRIDGE_FULL')
        if (String((err as Error).stack).includes('Engine.commit')) atCommit++
        fulls++
      }
    }
    expect(fulls).toBeGreaterThan(10)
    // Some must have struck inside a commit (while the catalog and free map were being written).
    expect(atCommit).toBeGreaterThan(0)
    const report = await cart.check({ data: true })
    expect(report.problems).toEqual([])
    expect((await cart.list('/')).sort()).toEqual([...model.keys()].sort())
    for (const [p, d] of model) expect(sameBytes(await cart.read(p), d)).toBe(true)
    await cart.close()
  })
})
