// Workload 3: one large file: sequential write committed with one sync, sequential read in
// 64 KiB pieces, and random 4 KiB reads; Cartridge vs raw node:fs on one plain file.
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Cartridge } from '../peers.mjs'
import { Suite, expectBytes, makeData, prng, readAt, rotate, round, sampleRss, tempDir, wantVariant } from '../harness.mjs'

export const id = 'w3'
export const title = 'one large file: write + 1 sync, sequential 64 KiB reads, random 4 KiB reads'

const PIECE = 64 * 1024
const SMALL = 4096
const WRITE_PIECE = 8 * 1024 * 1024

/**
 * @typedef {object} Impl
 * @property {string} name
 * @property {() => Promise<any> | any} setup
 * @property {(env: any) => Promise<void> | void} write
 * @property {(env: any, offset: number, length: number) => Promise<Uint8Array> | Uint8Array} readAt for the data check
 * @property {(env: any) => Promise<void> | void} seqRead the whole file in 64 KiB reads
 * @property {(env: any) => Promise<void> | void} randomRead 4 KiB reads at the seeded offsets
 * @property {(env: any) => Promise<void> | void} teardown
 */

/**
 * The read loops of an implementation whose reads return Promises: each read awaited before the next.
 * @param {(env: any, offset: number, length: number) => Promise<Uint8Array>} read
 * @param {number} size @param {number[]} offsets
 * @returns {Pick<Impl, 'seqRead' | 'randomRead'>}
 */
function asyncReadLoops(read, size, offsets) {
  return {
    async seqRead(env) {
      for (let off = 0, n = 0; off < size; off += PIECE, n++) {
        await read(env, off, PIECE)
        if ((n & 1023) === 0) sampleRss()
      }
    },
    async randomRead(env) {
      for (let i = 0; i < offsets.length; i++) {
        await read(env, offsets[i], SMALL)
        if ((i & 1023) === 0) sampleRss()
      }
    },
  }
}

/**
 * The same read loops for an implementation whose reads are synchronous (no await per read).
 * @param {(env: any, offset: number, length: number) => Uint8Array} read
 * @param {number} size @param {number[]} offsets
 * @returns {Pick<Impl, 'seqRead' | 'randomRead'>}
 */
function syncReadLoops(read, size, offsets) {
  return {
    seqRead(env) {
      for (let off = 0, n = 0; off < size; off += PIECE, n++) {
        read(env, off, PIECE)
        if ((n & 1023) === 0) sampleRss()
      }
    },
    randomRead(env) {
      for (let i = 0; i < offsets.length; i++) {
        read(env, offsets[i], SMALL)
        if ((i & 1023) === 0) sampleRss()
      }
    },
  }
}

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean}} ctx */
export async function run(ctx) {
  const size = { smoke: 4, quick: 64, full: 1024 }[ctx.mode] * 1024 * 1024
  const randomReads = { smoke: 500, quick: 20_000, full: 20_000 }[ctx.mode]
  const runs = { smoke: 1, quick: 3, full: 5 }[ctx.mode]
  const label = size >= 1 << 30 ? `${size / 2 ** 30} GiB` : `${size / 2 ** 20} MiB`
  const suite = new Suite(id, `one ${label} file: write + 1 sync, sequential 64 KiB reads, ${randomReads.toLocaleString('en-US')} random 4 KiB reads`, { size, randomReads, runs })
  const data = makeData(size)
  const rnd = prng(42)
  const offsets = Array.from({ length: randomReads }, () => Math.floor(rnd() * (size / SMALL)) * SMALL)

  const cartReadAt = (/** @type {any} */ { cart }, /** @type {number} */ offset, /** @type {number} */ length) => cart.read('/big.bin', { offset, length })
  const fsReadAt = (/** @type {any} */ { fd }, /** @type {number} */ offset, /** @type {number} */ length) => readAt(fd, new Uint8Array(length), offset)
  /** @type {Impl[]} */
  const impls = [
    {
      name: 'cartridge',
      async setup() {
        const t = tempDir('cart')
        return { t, cart: await Cartridge.create('bench', 'bench', { path: t.path('bench.cart'), durability: 'full' }) }
      },
      write: ({ cart }) => cart.write('/big.bin', data),
      readAt: cartReadAt,
      ...asyncReadLoops(cartReadAt, size, offsets),
      async teardown({ t, cart }) {
        await cart.close()
        t.dispose()
      },
    },
    {
      // The same file stored with `layout: 'pages'` (one 4 KiB page per checksummed chunk, the
      // layout of SQLite databases in a container): a 4 KiB read verifies 4 KiB, not 64 KiB.
      name: 'cartridge-pages',
      async setup() {
        const t = tempDir('cart-pages')
        return { t, cart: await Cartridge.create('bench', 'bench', { path: t.path('bench.cart'), durability: 'full' }) }
      },
      async write({ cart }) {
        const pieces = (function* () {
          for (let off = 0; off < size; off += WRITE_PIECE) yield data.subarray(off, Math.min(off + WRITE_PIECE, size))
        })()
        await pipeline(Readable.from(pieces), cart.createWriteStream('/big.bin', { layout: 'pages' }))
      },
      readAt: cartReadAt,
      ...asyncReadLoops(cartReadAt, size, offsets),
      async teardown({ t, cart }) {
        await cart.close()
        t.dispose()
      },
    },
    {
      name: 'fs-onefile',
      setup() {
        const t = tempDir('fs')
        return { t, fd: openSync(t.path('big.bin'), 'w+') }
      },
      write({ fd }) {
        for (let off = 0; off < size; ) off += writeSync(fd, data, off, Math.min(WRITE_PIECE, size - off), off)
        fdatasyncSync(fd)
      },
      readAt: fsReadAt,
      ...syncReadLoops(fsReadAt, size, offsets),
      teardown({ t, fd }) {
        closeSync(fd)
        t.dispose()
      },
    },
  ]

  for (let r = 0; r < runs; r++) {
    for (const impl of rotate(impls.filter((x) => wantVariant(ctx, x.name)), r)) {
      const env = await impl.setup()
      try {
        await suite.time('write + 1 sync', impl.name, { bytes: size }, () => impl.write(env))
        await suite.time('seq read 64 KiB', impl.name, { bytes: size, ops: size / PIECE }, () => impl.seqRead(env))
        await suite.time('random read 4 KiB', impl.name, { bytes: randomReads * SMALL, ops: randomReads }, () => impl.randomRead(env))
        for (const off of [0, size - PIECE, offsets[0], offsets[randomReads - 1]]) {
          expectBytes(await impl.readAt(env, off, PIECE), data.subarray(off, off + PIECE), `${impl.name} @${off}`)
        }
      } finally {
        await impl.teardown(env)
      }
    }
  }
  suite.note('cartridge: `durability: "full"`; one `await cart.write(path, buffer)` (one commit, one fdatasync); reads `await cart.read(path, { offset, length })` one after another. Every read verifies what it returns: a whole chunk against its CRC-32, part of a chunk against the running CRC-32s of the 4 KiB pages it lies in (page checksums, format 1.4), so a 4 KiB random read loads and checks 4 KiB.')
  const rows = suite.rows()
  const pagesVsRaw = Object.fromEntries(['write + 1 sync', 'seq read 64 KiB', 'random read 4 KiB'].map((phase) => {
    const a = rows.find((x) => x.phase === phase && x.impl === 'cartridge-pages')
    const b = rows.find((x) => x.phase === phase && x.impl === 'fs-onefile')
    return [phase, a && b ? round(b.medianMs / a.medianMs, 3) : null]
  }))
  suite.extra.pagesVsRaw = pagesVsRaw
  suite.note(`cartridge-pages: the same file written through \`createWriteStream(path, { layout: 'pages' })\` (4 KiB checksummed chunks, the layout of SQLite databases in a container; one commit). Its throughput ÷ fs-onefile: ${Object.entries(pagesVsRaw).map(([k, v]) => `${k} ${v === null ? 'n/a' : `${v.toFixed(2)}×`}`).join(', ')}. (The \`cart ÷ peer\` column compares the default layout with each row.)`)
  suite.note(`fs-onefile (ceiling): \`writeSync\` in ${WRITE_PIECE / 2 ** 20} MiB pieces (the run size Cartridge writes with) + one \`fdatasync\`; reads \`readSync\` into a fresh buffer per read, as Cartridge returns a fresh array.`)
  suite.note(`Random offsets: ${randomReads.toLocaleString('en-US')} 4 KiB-aligned, seeded (same list for every implementation). Page cache warm (file just written).`)
  return suite
}
