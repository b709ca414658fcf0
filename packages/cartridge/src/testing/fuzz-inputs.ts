import { seededRandom } from '@cartridge/core'
import { MemoryPageStore, PAGE_SIZE, decodeMeta, encodeMeta, type Meta } from '@cartridge/pager'
import { Engine, buildChunkMap, chunksOf, RecordKind, decodeFileRecord, encodeFileRecord } from '@cartridge/engine'
import type { FuzzSeed } from './fuzz-seeds.js'

/**
 * Hostile inputs for the fuzzer, derived from a seed container and an index (so any input can be
 * made again from its number). Two families:
 *
 * - damage: what disks, copies and transfers do (bit flips, overwritten bytes, truncation, zeroed,
 *   duplicated and swapped pages, appended garbage). Reading one must never give wrong data.
 * - forged: what an attacker does, with every checksum recomputed (CRC-32 is not a MAC): file
 *   records with changed fields or random bytes, records copied onto other paths, chunk maps
 *   rebuilt with a changed chunk, meta pages with changed fields. Reading one may give the bytes
 *   the forger pointed at, but never a hang, a crash or an uncoded error.
 */
export type InputFamily = 'damage' | 'forged'

export interface FuzzInput {
  family: InputFamily
  /** What was done, for the report. */
  what: string
  image: Uint8Array
}

/** Values that break assumptions: zero, one, edges of the field width, huge pages, the container's end. */
function interesting(random: () => number, bytes: 1 | 2 | 4 | 8, totalPages: number): bigint {
  const max = (1n << BigInt(bytes * 8)) - 1n
  const pick = [0n, 1n, 2n, max, max - 1n, 1n << 31n, BigInt(totalPages), BigInt(totalPages - 1), 1n << 55n, 1n << 53n, BigInt(Math.floor(random() * 2 ** 32))]
  return pick[Math.floor(random() * pick.length)] & max
}

function setField(v: DataView, off: number, bytes: 1 | 2 | 4 | 8, value: bigint): void {
  if (bytes === 1) v.setUint8(off, Number(value))
  else if (bytes === 2) v.setUint16(off, Number(value), true)
  else if (bytes === 4) v.setUint32(off, Number(value), true)
  else v.setBigUint64(off, value, true)
}

export function makeInput(seed: FuzzSeed, index: number): FuzzInput {
  const random = seededRandom(index * 7919 + seed.name.length)
  return index % 2 === 0 ? damage(seed.image, random) : forge(seed.image, random)
}

function damage(original: Uint8Array, random: () => number): FuzzInput {
  const image = new Uint8Array(original)
  const pages = Math.floor(image.length / PAGE_SIZE)
  const page = () => Math.floor(random() * pages)
  const kind = Math.floor(random() * 7)
  switch (kind) {
    case 0: {
      const n = 1 + Math.floor(random() * 8)
      for (let k = 0; k < n; k++) image[Math.floor(random() * image.length)] ^= 1 << Math.floor(random() * 8)
      return { family: 'damage', what: `${n} bit flips`, image }
    }
    case 1: {
      const at = Math.floor(random() * image.length)
      const n = 1 + Math.floor(random() * 64)
      for (let k = at; k < Math.min(image.length, at + n); k++) image[k] = Math.floor(random() * 256)
      return { family: 'damage', what: `${n} random bytes at ${at}`, image }
    }
    case 2: {
      const len = random() < 0.5 ? Math.floor(random() * image.length) : Math.floor(random() * pages) * PAGE_SIZE
      return { family: 'damage', what: `truncated to ${len} bytes`, image: image.subarray(0, len) }
    }
    case 3: {
      const p = page()
      image.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE)
      return { family: 'damage', what: `page ${p} zeroed`, image }
    }
    case 4: {
      const from = page()
      const to = page()
      image.copyWithin(to * PAGE_SIZE, from * PAGE_SIZE, (from + 1) * PAGE_SIZE)
      return { family: 'damage', what: `page ${from} copied over page ${to}`, image }
    }
    case 5: {
      const a = page()
      const b = page()
      const tmp = image.slice(a * PAGE_SIZE, (a + 1) * PAGE_SIZE)
      image.copyWithin(a * PAGE_SIZE, b * PAGE_SIZE, (b + 1) * PAGE_SIZE)
      image.set(tmp, b * PAGE_SIZE)
      return { family: 'damage', what: `pages ${a} and ${b} swapped`, image }
    }
    default: {
      const n = 1 + Math.floor(random() * 3 * PAGE_SIZE)
      const out = new Uint8Array(image.length + n)
      out.set(image)
      for (let k = image.length; k < out.length; k++) out[k] = Math.floor(random() * 256)
      return { family: 'damage', what: `${n} bytes of garbage appended`, image: out }
    }
  }
}

function forge(original: Uint8Array, random: () => number): FuzzInput {
  const store = new MemoryPageStore(original)
  const kind = Math.floor(random() * 5)
  if (kind === 4) return forgeMeta(store, random)
  const e = Engine.open(store)
  const total = e.alloc.totalPages
  const entries = [...e.catalog.entries()]
  const [path, value] = entries[Math.floor(random() * entries.length)]
  let what: string
  e.apply(() => {
    if (kind === 0) {
      // One field of the record (header, a chunk record or the chunk-map pointer) set to an edge value.
      const forged = value.slice()
      const v = new DataView(forged.buffer)
      const widths = [1, 2, 4, 8] as const
      let bytes = widths[Math.floor(random() * widths.length)]
      let off = Math.floor(random() * Math.max(1, (forged.length - bytes) / bytes)) * bytes
      if (random() < 0.5) {
        // A field where the layout has one (spec §10): header, then chunk records or the map pointer.
        const fields: Array<[number, 1 | 4 | 8]> = [[0, 1], [1, 1], [4, 4], [8, 8]]
        for (let at = 32; at + 48 <= forged.length; at += 48) fields.push([at, 8], [at + 8, 8], [at + 16, 4], [at + 20, 4], [at + 24, 4], [at + 28, 1])
        if (forged[0] === RecordKind.MAP) fields.push([32, 8], [40, 8], [48, 4], [52, 4])
        ;[off, bytes] = fields[Math.floor(random() * fields.length)]
      }
      if (off + bytes <= forged.length) setField(v, off, bytes, interesting(random, bytes, total))
      e.catalog.put(path, forged)
      what = `record of ${path}: ${bytes}-byte field at ${off} changed`
    } else if (kind === 1) {
      const forged = new Uint8Array(Math.floor(random() * 200))
      for (let k = 0; k < forged.length; k++) forged[k] = Math.floor(random() * 256)
      if (forged.length > 1) forged[0] = Math.floor(random() * 4)
      e.catalog.put(path, forged)
      what = `record of ${path}: ${forged.length} random bytes`
    } else if (kind === 2) {
      // The same record under a second path: two files own the same pages.
      e.catalog.put(`${path}-twin`, value)
      what = `record of ${path} copied to ${path}-twin`
    } else {
      // A chunk-map file's map rebuilt (checksums and all) with one chunk record changed.
      const r = decodeFileRecord(value, path)
      if (r.kind !== RecordKind.MAP) {
        e.catalog.delete(path)
        what = `record of ${path} removed (file count left as it was)`
        return
      }
      const chunks = chunksOf(e, r)
      const k = Math.floor(random() * chunks.length)
      const fields = ['page', 'txn', 'storedLength', 'logicalLength', 'checksum', 'codec'] as const
      const field = fields[Math.floor(random() * fields.length)]
      const width = field === 'codec' ? 1 : field === 'page' || field === 'txn' ? 8 : 4
      const value64 = interesting(random, width, total)
      chunks[k] = { ...chunks[k], [field]: Number(value64 > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : value64) }
      e.catalog.put(path, encodeFileRecord({ ...r, map: buildChunkMap(e, chunks) }))
      what = `chunk map of ${path}: chunk ${k} ${field} = ${value64}`
    }
  })
  e.commit(true)
  // A second, empty commit on top: open verifies only what the newest commit wrote, so the
  // forgery is not caught there and reaches every later reader, as a careful forger would make it.
  e.commit(true)
  return { family: 'forged', what: what!, image: store.snapshot() }
}

/** The newest meta page with one field changed, re-encoded (checksum and all) into the other slot as a newer commit. */
function forgeMeta(store: MemoryPageStore, random: () => number): FuzzInput {
  const slots = [0, 1].map((slot) => {
    const buf = new Uint8Array(PAGE_SIZE)
    store.read(slot, buf)
    return decodeMeta(buf)
  })
  const valid = slots.flatMap((d) => (d.ok ? [d.meta] : []))
  const newest = valid.sort((a, b) => b.txn - a.txn)[0]
  const fields = ['totalPages', 'fileCount', 'maxPages', 'catalogRoot', 'freeMapRoot', 'snapshotsRoot', 'baseTxn', 'growthThresholdPercent'] as const
  const field = fields[Math.floor(random() * fields.length)]
  const total = newest.totalPages
  const edge = Number(interesting(random, 4, total))
  let meta: Meta
  if (field === 'catalogRoot' || field === 'freeMapRoot' || field === 'snapshotsRoot') {
    const ptr = newest[field]
    const which = Math.floor(random() * 3)
    const changed = which === 0 ? { ...ptr, page: edge } : which === 1 ? { ...ptr, aux: edge } : { ...ptr, txn: edge }
    meta = { ...newest, [field]: changed }
  } else {
    meta = { ...newest, [field]: field === 'growthThresholdPercent' ? edge % 256 : edge }
  }
  meta = { ...meta, txn: newest.txn + 1 }
  const slot = slots[0].ok && slots[0].meta === newest ? 1 : 0
  store.write(slot, encodeMeta(meta))
  return { family: 'forged', what: `meta ${field} = ${edge}`, image: store.snapshot() }
}
