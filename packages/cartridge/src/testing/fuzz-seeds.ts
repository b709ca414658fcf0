import { mixedBytes, seededBytes } from '@cartridge/core'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Cartridge } from '../cartridge.js'

/**
 * Every version ever written to each path of a seed container: `[size, seed]` of
 * `seededBytes(size, seed)`, or `[size, seed, 'mixed']` of `mixedBytes(size, seed)`.
 */
export type Versions = Record<string, Array<[number, number] | [number, number, 'mixed']>>

/** A realistic container to damage: its bytes and every version of every file it ever held. */
export interface FuzzSeed {
  name: string
  image: Uint8Array
  versions: Versions
}

/** Writes a file whose bytes can be re-derived from (size, seed), recording the version. */
class Recorder {
  readonly versions: Versions = {}
  #seed: number
  readonly #mixed: boolean
  /** `mixed`: content that compresses in part (`mixedBytes`). */
  constructor(seed: number, mixed = false) {
    this.#seed = seed
    this.#mixed = mixed
  }
  next(path: string, size: number): Uint8Array {
    const seed = this.#seed++
    ;(this.versions[path] ??= []).push(this.#mixed ? [size, seed, 'mixed'] : [size, seed])
    return (this.#mixed ? mixedBytes : seededBytes)(size, seed)
  }
}

/**
 * Builds the seed containers the fuzzer damages, in files under `dir`: every record kind (inline,
 * direct chunk lists, chunk maps, the page layout), directories, overwrites, deletes, renames,
 * snapshots (one restored, one deleted), a vacuum, and a catalog several levels deep.
 */
export async function buildSeeds(path: (name: string) => string): Promise<FuzzSeed[]> {
  const seeds: FuzzSeed[] = []

  // Mixed sizes, history and snapshots.
  {
    const rec = new Recorder(1000)
    const file = path('mixed.cart')
    const cart = await Cartridge.create('mixed', 'Mixed', { path: file })
    const sizes = [0, 9, 700, 3000, 70_000, 200_000, 300_001]
    for (let i = 0; i < 21; i++) {
      const p = `/d${i % 3}/f${i}`
      await cart.write(p, rec.next(p, sizes[i % sizes.length]))
    }
    await cart.createSnapshot('one')
    for (let i = 0; i < 6; i++) {
      const p = `/d${i % 3}/f${i}`
      await cart.write(p, rec.next(p, sizes[(i + 3) % sizes.length]))
    }
    await cart.delete('/d2/')
    await cart.createSnapshot('two')
    const moved = rec.versions['/d0/f3'].at(-1)!
    await cart.rename('/d0/f3', '/moved')
    ;(rec.versions['/moved'] ??= []).push(moved)
    await pipeline(Readable.from([rec.next('/paged', 50_000)]), cart.createWriteStream('/paged', { layout: 'pages' }))
    await cart.createSnapshot('three')
    await cart.deleteSnapshot('two')
    await cart.close()
    seeds.push({ name: 'mixed', image: readFileSync(file), versions: rec.versions })
  }

  // Many small files: a catalog several levels deep, a restored snapshot, a vacuum.
  {
    const rec = new Recorder(5000)
    const file = path('deep.cart')
    const cart = await Cartridge.create('deep', 'Deep', { path: file })
    await cart.transaction(async (tx) => {
      for (let i = 0; i < 600; i++) {
        const p = `/many/${String(i).padStart(4, '0')}-${'x'.repeat(i % 40)}`
        await tx.write(p, rec.next(p, (i * 37) % 400))
      }
    })
    await cart.createSnapshot('before')
    await cart.delete('/many/')
    const p = '/after'
    await cart.write(p, rec.next(p, 90_000))
    await cart.restoreSnapshot('before', { saveCurrentAs: 'emptied' })
    await cart.vacuum()
    await cart.close()
    seeds.push({ name: 'deep', image: readFileSync(file), versions: rec.versions })
  }

  // Compressed: packed runs of LZ4 and Zstd chunks (heads and continuations) beside raw ones,
  // in chunk lists and chunk maps, with history, a snapshot and a vacuum.
  {
    const rec = new Recorder(9000, true)
    const file = path('packed.cart')
    const cart = await Cartridge.create('packed', 'Packed', { path: file, compression: { codec: 'zstd' } })
    const sizes = [600, 70_000, 200_000, 300_001, 1_000_000]
    for (let i = 0; i < 10; i++) {
      const p = `/z${i % 2}/f${i}`
      await cart.write(p, rec.next(p, sizes[i % sizes.length]), i % 3 === 0 ? { compression: 'lz4' } : {})
    }
    await cart.createSnapshot('packed-one')
    for (let i = 0; i < 4; i++) {
      const p = `/z${i % 2}/f${i}`
      await cart.write(p, rec.next(p, sizes[(i + 2) % sizes.length]))
    }
    await cart.delete('/z1/f5')
    await cart.vacuum()
    await cart.close()
    seeds.push({ name: 'packed', image: readFileSync(file), versions: rec.versions })
  }
  return seeds
}
