import { seededRandom, utf8, viewOf } from '@cartridge/core'
import {
  MemoryPageIO, NULL_PTR, PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, readBlockPtr, readHeader, sealPage, type BlockPtr,
} from '@cartridge/pager'
import { describe, expect, it } from 'vitest'
import { BTreeCatalog } from './btree-catalog.js'
import { btreeCatalog } from './btree-catalog-factory.js'
import { runCatalogSuite } from './test.js'
import { visitCatalog } from './visit-catalog.js'

runCatalogSuite('BTreeCatalog', btreeCatalog)

const caches = new WeakMap<MemoryPageIO, Map<number, unknown>>()
function cacheOf(io: MemoryPageIO): Map<number, unknown> {
  let cache = caches.get(io)
  if (!cache) caches.set(io, (cache = new Map()))
  return cache
}
runCatalogSuite('BTreeCatalog with a node cache', btreeCatalog, (io) => ({ cache: cacheOf(io) }))

const key = (i: number): string => `/dir${i % 100}/file${i}`

/** 0..n-1 in a seeded random order. */
function shuffled(n: number, seed: number): number[] {
  const rand = seededRandom(seed)
  const out = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** A committed catalog of `n` entries. */
function build(io: MemoryPageIO, n: number, cache?: Map<number, unknown>): BlockPtr {
  const cat = new BTreeCatalog(io, NULL_PTR, { cache })
  for (let i = 0; i < n; i++) cat.put(key(i), utf8(`value ${i}`))
  const root = cat.flush()
  io.commit()
  return root
}

interface NodeInfo {
  ptr: BlockPtr
  level: number
  keys: string[]
}

function nodesOf(io: MemoryPageIO, root: BlockPtr, minTxn?: number): NodeInfo[] {
  const out: NodeInfo[] = []
  visitCatalog(io, root, { minTxn, onNode: (ptr, level, keys) => out.push({ ptr, level, keys }) })
  return out
}

function leafFill(io: MemoryPageIO, root: BlockPtr): number {
  const leaves = nodesOf(io, root).filter((n) => n.level === 0)
  const used = leaves.reduce((sum, n) => sum + readHeader(io.pages.get(n.ptr.page)!).used, 0)
  return used / (leaves.length * PAGE_PAYLOAD)
}

const withCode = (code: string, page?: number) => expect.objectContaining(page === undefined ? { code } : { code, page })

describe('BTreeCatalog page format', () => {
  it('writes a leaf as u16 keyLen, u16 valueLen, key, value in key order', () => {
    const io = new MemoryPageIO()
    const cat = new BTreeCatalog(io, NULL_PTR)
    cat.put('/b', new Uint8Array([1, 2]))
    cat.put('/a', new Uint8Array(0))
    cat.put('/é', new Uint8Array([9]))
    const root = cat.flush()
    io.commit()
    const page = io.pages.get(root.page)!
    const h = readHeader(page)
    expect(h).toMatchObject({ type: PageType.CATALOG_LEAF, level: 0, count: 3, used: 22, txn: 1, pageNo: root.page, checksum: root.checksum })
    expect([...page.subarray(PAGE_HEADER_SIZE, PAGE_HEADER_SIZE + 22)]).toEqual([
      2, 0, 0, 0, 0x2f, 0x61,
      2, 0, 2, 0, 0x2f, 0x62, 1, 2,
      3, 0, 1, 0, 0x2f, 0xc3, 0xa9, 9,
    ])
    expect(page.subarray(PAGE_HEADER_SIZE + 22).every((b) => b === 0)).toBe(true)
  })

  it('writes a branch as child 0, then u16 keyLen, separator, pointer per child', () => {
    const io = new MemoryPageIO()
    const root = build(io, 3000)
    const page = io.pages.get(root.page)!
    const h = readHeader(page)
    expect(h.type).toBe(PageType.CATALOG_BRANCH)
    expect(h.level).toBeGreaterThanOrEqual(1)
    const v = viewOf(page)
    const children = [readBlockPtr(v, PAGE_HEADER_SIZE)]
    const seps: string[] = []
    let off = PAGE_HEADER_SIZE + 24
    for (let i = 1; i < h.count; i++) {
      const len = v.getUint16(off, true)
      seps.push(new TextDecoder().decode(page.subarray(off + 2, off + 2 + len)))
      children.push(readBlockPtr(v, off + 2 + len))
      off += 2 + len + 24
    }
    expect(off - PAGE_HEADER_SIZE).toBe(h.used)
    const firstAndLast = (p: BlockPtr): [string, string] => {
      const keys: string[] = []
      visitCatalog(io, p, { onEntry: (k) => keys.push(k) })
      return [keys[0], keys[keys.length - 1]]
    }
    for (let i = 0; i < children.length; i++) {
      const child = io.pages.get(children[i].page)!
      expect(readHeader(child)).toMatchObject({ level: h.level - 1, txn: children[i].txn, checksum: children[i].checksum })
      const [first, last] = firstAndLast(children[i])
      if (i > 0) expect(Buffer.compare(Buffer.from(first), Buffer.from(seps[i - 1]))).toBeGreaterThanOrEqual(0)
      if (i < seps.length) expect(Buffer.compare(Buffer.from(last), Buffer.from(seps[i]))).toBeLessThan(0)
    }
  })
})

describe('visitCatalog', () => {
  it('with minTxn visits only the pages born after it', () => {
    const io = new MemoryPageIO()
    const root1 = build(io, 5000)
    const cat = new BTreeCatalog(io, root1)
    cat.put(key(17), utf8('changed'))
    cat.put('/dir3/new', utf8('new'))
    cat.delete(key(4242))
    const root2 = cat.flush()
    io.commit()
    const all = nodesOf(io, root2)
    const born2 = all.filter((n) => n.ptr.txn > 1)
    const visited = nodesOf(io, root2, 1)
    expect(visited.length).toBeGreaterThan(0)
    expect(visited.length).toBeLessThan(all.length / 4)
    expect(visited.map((n) => n.ptr.page).sort()).toEqual(born2.map((n) => n.ptr.page).sort())
    const entries: string[] = []
    visitCatalog(io, root2, { minTxn: 1, onEntry: (k) => entries.push(k) })
    const visitedLeafKeys = visited.filter((n) => n.level === 0).flatMap((n) => n.keys)
    expect(entries).toEqual(visitedLeafKeys)
    expect(entries).toContain(key(17))
    expect(entries).toContain('/dir3/new')
    expect(nodesOf(io, root2, root2.txn)).toEqual([])
    expect(nodesOf(io, NULL_PTR)).toEqual([])
  })

  it('reports a flipped byte as CARTRIDGE_CHECKSUM naming the page, never as data', () => {
    const io = new MemoryPageIO()
    const root = build(io, 3000)
    const leaf = nodesOf(io, root).filter((n) => n.level === 0)[5]
    io.pages.get(leaf.ptr.page)![200] ^= 0x10
    const cat = new BTreeCatalog(io, root)
    expect(() => cat.get(leaf.keys[0])).toThrow(withCode('CARTRIDGE_CHECKSUM', leaf.ptr.page))
    expect(() => [...cat.entries()]).toThrow(withCode('CARTRIDGE_CHECKSUM', leaf.ptr.page))
    expect(() => cat.delete(leaf.keys[0])).toThrow(withCode('CARTRIDGE_CHECKSUM', leaf.ptr.page))
    expect(() => visitCatalog(io, root)).toThrow(withCode('CARTRIDGE_CHECKSUM', leaf.ptr.page))
    expect(() => cat.get(leaf.keys[0])).toThrow(new RegExp(`page ${leaf.ptr.page}`))
    expect(cat.get(key(1))).toEqual(utf8('value 1'))
  })

  it('reports a well-checksummed but malformed page as CARTRIDGE_CORRUPT', () => {
    const io = new MemoryPageIO()
    const root = build(io, 3)
    const page = io.pages.get(root.page)!.slice()
    const { checksum: _, ...h } = readHeader(page)
    sealPage(page, { ...h, count: h.count + 1 })
    const bad1 = { ...root, checksum: viewOf(page).getUint32(0, true) }
    io.pages.set(root.page, page)
    expect(() => new BTreeCatalog(io, bad1).get('/x')).toThrow(withCode('CARTRIDGE_CORRUPT', root.page))
    expect(() => visitCatalog(io, bad1)).toThrow(withCode('CARTRIDGE_CORRUPT', root.page))
    const page2 = page.slice()
    sealPage(page2, { ...h, used: h.used - 1 })
    io.pages.set(root.page, page2)
    const bad2 = { ...root, checksum: viewOf(page2).getUint32(0, true) }
    expect(() => [...new BTreeCatalog(io, bad2).entries()]).toThrow(withCode('CARTRIDGE_CORRUPT', root.page))
  })

  it('reports keys outside their parent separators as CARTRIDGE_CORRUPT on plain reads', () => {
    const io = new MemoryPageIO()
    const root = build(io, 3000)
    const page = io.pages.get(root.page)!.slice()
    const h = readHeader(page)
    expect(h.level).toBe(1)
    const v = viewOf(page)
    const offsets = [PAGE_HEADER_SIZE]
    for (let i = 1, off = PAGE_HEADER_SIZE + 24; i < h.count; i++) {
      const len = v.getUint16(off, true)
      offsets.push(off + 2 + len)
      off += 2 + len + 24
    }
    const [a, b] = [offsets[1], offsets[2]]
    const ptrA = page.slice(a, a + 24)
    page.copyWithin(a, b, b + 24)
    page.set(ptrA, b)
    const { checksum: _, ...fields } = h
    const forged = { ...root, checksum: sealPage(page, fields) }
    io.pages.set(root.page, page)
    // Looking up a key of the leaf that moved right reaches the one that moved left, out of range.
    const [movedLeft, movedRight] = [readBlockPtr(v, a), readBlockPtr(v, b)]
    const keys: string[] = []
    visitCatalog(io, movedRight, { onEntry: (k) => keys.push(k) })
    const cat = new BTreeCatalog(io, forged)
    expect(() => cat.get(keys[0])).toThrow(withCode('CARTRIDGE_CORRUPT', movedLeft.page))
    expect(() => [...cat.entries()]).toThrow(withCode('CARTRIDGE_CORRUPT'))
    expect(() => visitCatalog(io, forged)).toThrow(withCode('CARTRIDGE_CORRUPT'))
    expect(() => cat.put(keys[0], utf8('x'))).toThrow(withCode('CARTRIDGE_CORRUPT', movedLeft.page))
  })
})

describe('BTreeCatalog internals', () => {
  it('seeks by binary search: the first entry costs one read per level', () => {
    const io = new MemoryPageIO()
    const root = build(io, 20_000)
    const nodes = nodesOf(io, root)
    const height = Math.max(...nodes.map((n) => n.level)) + 1
    expect(height).toBeGreaterThanOrEqual(2)
    const cat = new BTreeCatalog(io, root)
    let reads = io.reads
    const it = cat.entries({ from: '/dir5/file12345' })
    expect(it.next().value?.[0]).toBe('/dir5/file12405')
    expect(io.reads - reads).toBe(height)

    const prefix = '/dir42/'
    const leaves = nodes.filter((n) => n.level === 0 && n.keys.some((k) => k.startsWith(prefix))).length
    reads = io.reads
    expect([...cat.entries({ prefix })].length).toBe(200)
    expect(io.reads - reads).toBeLessThanOrEqual(2 * height + leaves + 1)

    reads = io.reads
    expect(cat.get(key(777))).toEqual(utf8('value 777'))
    expect(io.reads - reads).toBe(height)
  })

  it('holds no clean children: without a cache every get reads below the root again', () => {
    const io = new MemoryPageIO()
    const cat = new BTreeCatalog(io, NULL_PTR)
    for (let i = 0; i < 5000; i++) cat.put(key(i), utf8(`value ${i}`))
    const root = cat.flush()
    io.commit()
    const height = Math.max(...nodesOf(io, root).map((n) => n.level)) + 1
    for (let round = 0; round < 3; round++) {
      const reads = io.reads
      expect(cat.get(key(4321))).toEqual(utf8('value 4321'))
      expect(io.reads - reads).toBe(height - 1)
    }
  })

  it('uses the node cache, checking each entry against the pointer', () => {
    const io = new MemoryPageIO()
    const cache = new Map<number, unknown>()
    const root = build(io, 5000, cache)
    const nodes = nodesOf(io, root)
    expect(cache.size).toBe(nodes.length)
    const cat = new BTreeCatalog(io, root, { cache })
    const reads = io.reads
    for (let i = 0; i < 5000; i += 7) expect(cat.get(key(i))).toEqual(utf8(`value ${i}`))
    expect([...cat.entries()].length).toBe(5000)
    expect(io.reads).toBe(reads)

    // Entries under the wrong page number, and foreign values, are ignored.
    const [a, b] = nodes.filter((n) => n.level === 0).map((n) => n.ptr.page)
    const [na, nb] = [cache.get(a), cache.get(b)]
    cache.set(a, nb)
    cache.set(b, na)
    cache.set(root.page, new Uint8Array(16))
    const fresh = new BTreeCatalog(io, root, { cache })
    expect([...fresh.entries()].length).toBe(5000)
    expect(io.reads).toBe(reads + 3)

    // Changes free pages and drop them from the cache; the cache only holds live pages.
    let last = root
    for (let cycle = 0; cycle < 3; cycle++) {
      const c = new BTreeCatalog(io, last, { cache })
      for (let i = cycle; i < 5000; i += 3) c.delete(key(i))
      for (let i = 0; i < 500; i++) c.put(`/new/${cycle}/${i}`, utf8('x'))
      const r = (last = c.flush())
      io.commit()
      expect([...cache.keys()].every((p) => io.live.has(p))).toBe(true)
      const check = new BTreeCatalog(io, r, { cache })
      expect(check.get(`/new/${cycle}/7`)).toEqual(utf8('x'))
    }
  })

  it('reads a committed root passed as { root: BlockPtr }', () => {
    const io = new MemoryPageIO()
    const root = build(io, 100)
    const cat = new BTreeCatalog(io, root)
    cat.put(key(1), utf8('new'))
    expect(cat.get(key(1))).toEqual(utf8('new'))
    expect(cat.get(key(1), { root })).toEqual(utf8('value 1'))
    expect([...cat.entries({ at: { root: NULL_PTR } })]).toEqual([])
    expect(() => cat.get(key(1), { root: 'nonsense' })).toThrow(withCode('CARTRIDGE_INVALID_ARGUMENT'))
  })

  it('refuses savepoints from before a flush and from another catalog', () => {
    const io = new MemoryPageIO()
    const cat = new BTreeCatalog(io, NULL_PTR)
    cat.put('/a', utf8('a'))
    const sp = cat.savepoint()
    cat.put('/b', utf8('b'))
    cat.flush()
    expect(() => cat.rollback(sp)).toThrow(withCode('CARTRIDGE_INVALID_ARGUMENT'))
    const other = new BTreeCatalog(io, NULL_PTR)
    expect(() => other.rollback(cat.savepoint())).toThrow(withCode('CARTRIDGE_INVALID_ARGUMENT'))
    const clean = cat.savepoint()
    cat.flush()
    cat.rollback(clean)
    expect(cat.dirty).toBe(false)
  })

  it('fills pages: sequential appends near full, random inserts well over half, merges after deletes', () => {
    const sequential = new MemoryPageIO()
    const cat = new BTreeCatalog(sequential, NULL_PTR)
    for (let i = 0; i < 10_000; i++) cat.put(`/seq/${String(i).padStart(6, '0')}`, utf8(`v${i}`))
    const seqRoot = cat.flush()
    sequential.commit()
    expect(leafFill(sequential, seqRoot)).toBeGreaterThan(0.95)

    const io = new MemoryPageIO()
    const order = shuffled(10_000, 1)
    const random = new BTreeCatalog(io, NULL_PTR)
    for (const i of order) random.put(key(i), utf8(`value ${i}`))
    let root = random.flush()
    io.commit()
    expect(leafFill(io, root)).toBeGreaterThan(0.6)
    for (const i of order.slice(0, 9000)) random.delete(key(i))
    root = random.flush()
    io.commit()
    expect(leafFill(io, root)).toBeGreaterThan(0.3)
    for (const i of order.slice(9000, 9990)) random.delete(key(i))
    root = random.flush()
    io.commit()
    expect(readHeader(io.pages.get(root.page)!).type).toBe(PageType.CATALOG_LEAF)
    expect([...io.live]).toEqual([root.page])
  })

  it('puts 10,000 short keys and flushes quickly', () => {
    const io = new MemoryPageIO()
    const cat = new BTreeCatalog(io, NULL_PTR)
    const keys = shuffled(10_000, 2).map(key)
    const value = utf8('0123456789abcdef')
    const t0 = performance.now()
    for (const k of keys) cat.put(k, value)
    cat.flush()
    const ms = performance.now() - t0
    expect(ms).toBeLessThan(1000)
  })
})
