import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { bytes, rng, runUntilKilled, tempDir } from './testing/helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const child = fileURLToPath(new URL('./testing/reseal-kill-child.mjs', import.meta.url))
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))
// At least 12: the enable test needs kills on both sides of the rename.
const ROUNDS = Math.max(12, Number(process.env.CARTRIDGE_KILL_ROUNDS ?? 12))
const passphrase = 'kill me softly'

const FILES = new Map<string, Uint8Array>(Array.from({ length: 12 }, (_, i) => [`/f/${i}.bin`, bytes([900, 70_000, 300_000][i % 3], i)] as const))

async function prepare(path: string, encrypted: boolean): Promise<void> {
  const cart = await Cartridge.create('kill', 'K', {
    path, compression: { codec: 'zstd' }, ...(encrypted ? { encryption: { passphrase, scrypt: { logN: 10, r: 8, p: 1 } } } : {}),
  })
  for (const [p, d] of FILES) await cart.write(p, d)
  await cart.createSnapshot('base')
  await cart.delete('/f/0.bin')
  await cart.close()
}

/** Opens the container the way it is now (plain or encrypted) and checks every file and the snapshot. */
async function verify(path: string): Promise<'plain' | 'encrypted'> {
  let cart: Cartridge
  let state: 'plain' | 'encrypted' = 'plain'
  try {
    cart = await Cartridge.open(path)
  } catch (err) {
    expect((err as { code?: string }).code).toBe('CARTRIDGE_BAD_KEY')
    cart = await Cartridge.open(path, { passphrase })
    state = 'encrypted'
  }
  expect(cart.recovery).toBeUndefined()
  for (const [p, d] of FILES) {
    if (p === '/f/0.bin') await expect(cart.exists(p)).resolves.toBe(false)
    else expect(Buffer.from(await cart.read(p)).equals(Buffer.from(d)), p).toBe(true)
    expect(Buffer.from(await cart.snapshot('base').read(p)).equals(Buffer.from(d)), `base ${p}`).toBe(true)
  }
  expect((await cart.check({ data: true })).problems).toEqual([])
  await cart.close()
  return state
}

describe.skipIf(!built)('kill -9 during enableEncryption and rekey', () => {
  it(`enableEncryption killed at a random moment leaves the plain container or the encrypted one, whole (${ROUNDS} rounds)`, async () => {
    const random = rng(5)
    const seen = new Set<string>()
    for (let round = 0; round < ROUNDS; round++) {
      const path = tmp.path(`enable-${round}.cart`)
      await prepare(path, false)
      await runUntilKilled([child, path, 'enable', passphrase], 0, 0, Math.floor(random() * 120))
      seen.add(await verify(path))
    }
    // Both outcomes happen, or the kills did not land during the work.
    expect(seen.size).toBe(2)
  })

  it(`rekey killed at a random moment opens with the passphrase and holds everything (${ROUNDS} rounds)`, async () => {
    const path = tmp.path('rekey.cart')
    await prepare(path, true)
    const random = rng(9)
    for (let round = 0; round < ROUNDS; round++) {
      await runUntilKilled([child, path, 'rekey', passphrase], 0, 1, Math.floor(random() * 150))
      expect(await verify(path)).toBe('encrypted')
    }
  })
})
