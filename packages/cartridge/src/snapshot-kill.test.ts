import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { bytes, readAll, rng, runUntilKilled, sameFiles, tempDir } from './testing/helpers.js'
import { CHILD_OPEN_ENV, VARIANTS } from './testing/variants.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const child = fileURLToPath(new URL('./testing/snapshot-kill-child.mjs', import.meta.url))
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))
const ROUNDS = Number(process.env.CARTRIDGE_KILL_ROUNDS ?? 12)

/** The part of a snapshot or the live state the child never changes. */
const stable = (files: Map<string, Uint8Array>) => new Map([...files].filter(([p]) => p.startsWith('/stable/')))

describe.skipIf(!built).each(VARIANTS)('kill -9 during snapshot create, restore, delete and vacuum ($name)', (v) => {
  const rounds = v.name === 'plain' ? ROUNDS : Math.ceil(ROUNDS / 2)
  it(`reopens with the live files and every snapshot intact, ${rounds} times`, async () => {
    const path = tmp.path(`snap-kill-${v.name}.cart`)
    const cart = await Cartridge.create('snap-kill', 'S', { ...v.create, path })
    for (let i = 0; i < 20; i++) await cart.write(`/stable/${i}.bin`, bytes([900, 20_000, 140_000][i % 3], i))
    await cart.write('/base-only.bin', bytes(300_000, 99))
    await cart.createSnapshot('base')
    await cart.delete('/base-only.bin')
    const live = stable(await readAll(cart))
    const base = new Map([...live, ['/base-only.bin', bytes(300_000, 99)]])
    await cart.close()
    const random = rng(11)
    let next = 0
    for (let round = 0; round < rounds; round++) {
      const env = { [CHILD_OPEN_ENV]: JSON.stringify(v.open) }
      const lastAck = await runUntilKilled([child, path, String(next)], next, next + 1, Math.floor(random() * 60), env)
      const re = await Cartridge.open(path, v.open)
      const report = await re.check({ data: true })
      expect(report.problems).toEqual([])
      expect(sameFiles(stable(await readAll(re)), live)).toBe(true)
      const snaps = await re.listSnapshots()
      expect(snaps[0].name).toBe('base')
      const view = re.snapshot('base')
      const inBase = new Map<string, Uint8Array>()
      for (const p of await view.list('/')) inBase.set(p, await view.read(p))
      expect(sameFiles(inBase, base)).toBe(true)
      // A snapshot the child took and had not deleted yet holds the stable files too.
      for (const s of snaps.slice(1)) {
        expect(s.name).toMatch(/^t\d+$/)
        const v = re.snapshot(s.id)
        const files = new Map<string, Uint8Array>()
        for (const p of await v.list('/stable/')) files.set(p, await v.read(p))
        expect(sameFiles(files, live)).toBe(true)
        await re.deleteSnapshot(s.id)
      }
      await re.close()
      next = lastAck + 2
    }
    const end = await Cartridge.open(path, v.open)
    await end.vacuum()
    const report = await end.check({ data: true })
    expect(report.problems).toEqual([])
    expect(report.unreferencedPages).toBe(0)
    await end.close()
  })
})
