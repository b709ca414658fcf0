import { utf8, viewOf } from '@cartridge/core'
import {
  MemoryPageIO, NULL_PTR, PAGE_HEADER_SIZE, PAGE_SIZE, PageType, readHeader, sealPage, type BlockPtr, type PageIO,
} from '@cartridge/pager'
import { describe, expect, it } from 'vitest'
import { btreeCatalog } from '../btree-catalog-factory.js'
import type { CatalogFactory } from '../catalog-factory.js'
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../limits.js'
import { prefixCatalog } from './prefix-catalog-factory.js'
import { parsePrefixLeaf, checkPrefixLeaves } from './prefix-test-pages.js'

const withCode = (code: string, page?: number) => expect.objectContaining(page === undefined ? { code } : { code, page })
const bytes = (s: string): number[] => [...Buffer.from(s, 'utf8')]
const u16 = (n: number): number[] => [n & 0xff, n >> 8]
/** One encoded entry: u16 suffixLen, u16 valueLen, suffix, value. */
const entry = (suffix: string | number[], value: number[] = []): number[] => {
  const s = typeof suffix === 'string' ? bytes(suffix) : suffix
  return [...u16(s.length), ...u16(value.length), ...s, ...value]
}
/** A payload: u16 prefixLen, prefix, entries. */
const payload = (prefix: string | number[], ...entries: number[][]): number[] => {
  const p = typeof prefix === 'string' ? bytes(prefix) : prefix
  return [...u16(p.length), ...p, ...entries.flat()]
}

/** A committed catalog of `keys` (all with `value`) and its root. */
function build(factory: CatalogFactory, keys: Iterable<string>, value: (k: string) => Uint8Array): { io: MemoryPageIO; root: BlockPtr } {
  const io = new MemoryPageIO()
  const cat = factory.open(io, NULL_PTR)
  for (const k of keys) cat.put(k, value(k))
  const root = cat.flush()
  io.commit()
  return { io, root }
}

/** A well-checksummed page of `type` (default CATALOG_PREFIX_LEAF) holding `bytes` as its payload, committed alone. */
function forge(bytes: number[], count: number, fields: { type?: number; level?: number; used?: number } = {}): { io: MemoryPageIO; ptr: BlockPtr } {
  const io = new MemoryPageIO()
  const pageNo = io.allocate(1)
  const page = new Uint8Array(PAGE_SIZE)
  page.set(bytes, PAGE_HEADER_SIZE)
  const txn = io.txn
  const type = fields.type ?? PageType.CATALOG_PREFIX_LEAF
  const checksum = sealPage(page, { type, level: fields.level ?? 0, count, txn, pageNo, used: fields.used ?? bytes.length })
  io.stage(pageNo, page)
  io.commit()
  return { io, ptr: { page: pageNo, txn, checksum, aux: 0 } }
}

/** Every way the prefix catalog reads a page reports `problem` as CARTRIDGE_CORRUPT naming it. */
function expectCorrupt({ io, ptr }: { io: MemoryPageIO; ptr: BlockPtr }, problem: RegExp, refsToo = true): void {
  const bad = withCode('CARTRIDGE_CORRUPT', ptr.page)
  expect(() => prefixCatalog.open(io, ptr).get('/x')).toThrow(bad)
  expect(() => prefixCatalog.open(io, ptr).get('/x')).toThrow(problem)
  expect(() => [...prefixCatalog.open(io, ptr).entries()]).toThrow(bad)
  expect(() => prefixCatalog.open(io, ptr).put('/x', utf8('x'))).toThrow(bad)
  expect(() => prefixCatalog.visit(io, ptr)).toThrow(bad)
  expect(() => prefixCatalog.readPage(io, ptr)).toThrow(bad)
  if (refsToo) expect(() => prefixCatalog.refs(io, ptr)).toThrow(bad)
}

describe('prefixCatalog page format', () => {
  it('writes a leaf as u16 prefixLen, prefix, then u16 suffixLen, u16 valueLen, suffix, value in key order', () => {
    const { io, root } = build(prefixCatalog, ['/logs/b', '/logs/a', '/logs/é'], (k) => new Uint8Array(k === '/logs/a' ? [1, 2] : k === '/logs/é' ? [9] : []))
    const page = io.pages.get(root.page)!
    // raw = 13 + 11 + 13 = 37; used = 37 − (3 − 1) × 6 + 2 = 27
    expect(readHeader(page)).toMatchObject({ type: PageType.CATALOG_PREFIX_LEAF, level: 0, count: 3, used: 27, txn: 1, pageNo: root.page, checksum: root.checksum })
    expect(PageType.CATALOG_PREFIX_LEAF).toBe(11)
    expect([...page.subarray(PAGE_HEADER_SIZE, PAGE_HEADER_SIZE + 27)]).toEqual([
      6, 0, 0x2f, 0x6c, 0x6f, 0x67, 0x73, 0x2f,
      1, 0, 2, 0, 0x61, 1, 2,
      1, 0, 0, 0, 0x62,
      2, 0, 1, 0, 0xc3, 0xa9, 9,
    ])
    expect(page.subarray(PAGE_HEADER_SIZE + 27).every((b) => b === 0)).toBe(true)
  })

  it('keeps non-ASCII prefixes, and never ends one inside a character', () => {
    const one = (keys: string[]) => {
      const { io, root } = build(prefixCatalog, keys, () => new Uint8Array([7]))
      return parsePrefixLeaf(io.pages.get(root.page)!)
    }
    const deep = one(['/données/été/a', '/données/été/b'])
    expect(deep.prefix).toBe('/données/été/')
    expect(deep.entries.map((e) => e.suffix)).toEqual(['a', 'b'])
    // U+1F600 and U+1F601 share 3 of their 4 UTF-8 bytes (and their first UTF-16 unit): the prefix stops before them.
    const emoji = one(['/x/\u{1F600}a', '/x/\u{1F601}b'])
    expect(emoji.prefix).toBe('/x/')
    expect(emoji.entries.map((e) => e.suffix)).toEqual(['\u{1F600}a', '\u{1F601}b'])
    // é (C3 A9) and ê (C3 AA) share their first byte.
    expect(one(['/é', '/ê']).prefix).toBe('/')
    // A key that is the prefix of the others has an empty suffix.
    const nested = one(['/a/b', '/a/bc', '/a/bd'])
    expect(nested.prefix).toBe('/a/b')
    expect(nested.entries.map((e) => e.suffix)).toEqual(['', 'c', 'd'])
    const single = one(['/only/key'])
    expect(single.prefix).toBe('/only/key')
    expect(single.entries.map((e) => e.suffix)).toEqual([''])
  })

  it('writes a prefix of 0 bytes when the first and last keys differ at once: used = raw + 2', () => {
    const { io, root } = build(prefixCatalog, ['a/x', 'b/x', 'é'], () => new Uint8Array([1]))
    const page = io.pages.get(root.page)!
    const leaf = parsePrefixLeaf(page)
    expect(leaf.prefix).toBe('')
    expect(leaf.entries.map((e) => e.suffix)).toEqual(['a/x', 'b/x', 'é'])
    expect(readHeader(page).used).toBe(8 + 8 + 7 + 2)
  })

  it('stores keys that share everything but their last character once', () => {
    const stem = 'k'.repeat(MAX_KEY_BYTES - 1)
    const keys = [...'abcdefghijklmnopqrstuvwxyz'].map((c) => stem + c)
    const { io, root } = build(prefixCatalog, keys, (k) => new Uint8Array(k.charCodeAt(k.length - 1) - 0x60))
    const page = io.pages.get(root.page)!
    const leaf = parsePrefixLeaf(page)
    expect(leaf.prefix).toBe(stem)
    expect(leaf.entries.map((e) => e.suffix).join('')).toBe('abcdefghijklmnopqrstuvwxyz')
    expect(readHeader(page).used).toBe(2 + (MAX_KEY_BYTES - 1) + 26 * 5 + (26 * 27) / 2)
    const cat = prefixCatalog.open(io, root)
    for (const k of keys) expect(cat.get(k)!.length).toBe(k.charCodeAt(k.length - 1) - 0x60)
  })

  it('fits entries near the size limits: two of the largest per leaf where the reference fits one', () => {
    const key = (i: number): string => '/big/'.padEnd(MAX_KEY_BYTES - 4, 'x') + String(i).padStart(4, '0')
    const keys = Array.from({ length: 40 }, (_, i) => key(i))
    const value = (k: string): Uint8Array => new Uint8Array(MAX_VALUE_BYTES).fill(k.charCodeAt(k.length - 1))
    const pfx = build(prefixCatalog, keys, value)
    const ref = build(btreeCatalog, keys, value)
    const leavesOf = (f: CatalogFactory, b: { io: MemoryPageIO; root: BlockPtr }) => {
      const counts: number[] = []
      f.visit(b.io, b.root, { onNode: (ptr, level, ks) => level === 0 && counts.push(ks.length) })
      return counts
    }
    expect(leavesOf(btreeCatalog, ref).every((n) => n === 1)).toBe(true)
    expect(leavesOf(prefixCatalog, pfx).every((n) => n === 2)).toBe(true)
    expect(checkPrefixLeaves(prefixCatalog, pfx.io, pfx.root)).toBe(20)
    const cat = prefixCatalog.open(pfx.io, pfx.root)
    for (const k of keys) expect(cat.get(k)).toEqual(value(k))
  })

  it('holds hundreds of long keys per leaf; a key that shares nothing with them splits the leaf, not the prefix', () => {
    const key = (i: number): string => '/same/'.padEnd(MAX_KEY_BYTES - 4, 'y') + String(i).padStart(4, '0')
    const io = new MemoryPageIO()
    const cat = prefixCatalog.open(io, NULL_PTR)
    for (let i = 0; i < 350; i++) cat.put(key(i), new Uint8Array(0))
    let root = cat.flush()
    io.commit()
    // Keys …0000 to …0349 share 1021 bytes: 2 + 1021 + 350 × 7 = 3473 bytes, one page for 350 × 1028 raw bytes.
    expect(readHeader(io.pages.get(root.page)!)).toMatchObject({ type: PageType.CATALOG_PREFIX_LEAF, count: 350, used: 3473 })
    // A key sharing nothing would empty the prefix: 351 entries of 1028 bytes and more need ~89
    // pages. The split cuts where both sides fit, the most even such cut: '/' and the 3 keys that
    // fit with it uncompressed, then the other 347 with their prefix.
    cat.put('/', utf8('root'))
    root = cat.flush()
    io.commit()
    const leaves = (): number[] => {
      const out: number[] = []
      prefixCatalog.visit(io, root, { onNode: (_, level, ks) => level === 0 && out.push(ks.length) })
      return out
    }
    expect(leaves()).toEqual([4, 347])
    expect(checkPrefixLeaves(prefixCatalog, io, root)).toBe(2)
    expect(cat.get(key(349))).toEqual(new Uint8Array(0))
    expect([...cat.entries()].length).toBe(351)
    // Deletes merge only leaves under a quarter page (the reference's policy): the one left of the
    // first leaf, a 1024-byte key alone (1030 bytes), stays; emptying it merges the rest back.
    cat.delete('/')
    for (let i = 0; i < 350; i += 2) cat.delete(key(i))
    root = cat.flush()
    io.commit()
    expect(leaves()).toEqual([1, 174])
    expect(checkPrefixLeaves(prefixCatalog, io, root)).toBe(2)
    expect([...cat.entries()].map(([k]) => k)).toEqual(Array.from({ length: 175 }, (_, i) => key(2 * i + 1)))
    cat.delete(key(1))
    cat.delete(key(3))
    root = cat.flush()
    io.commit()
    expect(leaves()).toEqual([173])
    expect(readHeader(io.pages.get(root.page)!)).toMatchObject({ type: PageType.CATALOG_PREFIX_LEAF, used: 2 + 1021 + 173 * 7 })
  })
})

describe('prefixCatalog on forged pages', () => {
  const leaf = (count: number, ...parts: number[][]) => forge(payload('/p/', ...parts), count)

  it('reads a well-formed forged leaf (the forging itself is right)', () => {
    const { io, ptr } = leaf(2, entry('a', [1]), entry('b', [2, 3]))
    expect([...prefixCatalog.open(io, ptr).entries()].map(([k, v]) => [k, [...v]])).toEqual([['/p/a', [1]], ['/p/b', [2, 3]]])
    expect(prefixCatalog.refs(io, ptr)).toEqual({ leaf: true, values: [new Uint8Array([1]), new Uint8Array([2, 3])] })
  })

  it('reports a prefixLen past the payload', () => {
    expectCorrupt(forge([...u16(40), ...bytes('/p/')], 1), /prefix runs past the payload/)
    expectCorrupt(forge([...u16(3), ...bytes('/p/'), ...entry('a')], 1, { used: 4 }), /prefix runs past the payload/)
    expectCorrupt(forge([3], 1), /prefix runs past the payload/)
    // refs checks lengths against the payload only, as the reference's does.
    expectCorrupt(forge([...u16(MAX_KEY_BYTES + 1), ...new Array<number>(MAX_KEY_BYTES + 1).fill(0x61), ...entry('')], 1), /prefix runs past the payload/, false)
  })

  it('reports a suffix or value past the payload, or entries short of it', () => {
    expectCorrupt(leaf(1, [...u16(50), 0, 0, ...bytes('abc')]), /entry runs past the payload/)
    expectCorrupt(leaf(1, [...u16(1), ...u16(9), ...bytes('a'), 1, 2]), /entry runs past the payload/)
    expectCorrupt(leaf(2, entry('a', [1]), [1, 0]), /entry runs past the payload/)
    expectCorrupt(leaf(3, entry('a', [1]), entry('b', [1])), /entry runs past the payload/)
    expectCorrupt(leaf(1, entry('a', [1]), entry('b', [1])), /payload length does not match/, false)
    expectCorrupt(leaf(1, entry('a', new Array<number>(MAX_VALUE_BYTES + 1).fill(0))), /entry runs past the payload/, false)
  })

  it('reports a key longer than MAX_KEY_BYTES once the prefix is added', () => {
    const prefix = '/'.padEnd(1000, 'p')
    expectCorrupt(forge(payload(prefix, entry('a'.repeat(24)), entry('b'.repeat(25))), 2), /entry runs past the payload/, false)
  })

  it('reports keys out of order or repeated after adding the prefix', () => {
    expectCorrupt(leaf(2, entry('b'), entry('a')), /keys out of order/, false)
    expectCorrupt(leaf(2, entry('a'), entry('a')), /keys out of order/, false)
    expectCorrupt(leaf(3, entry(''), entry('z'), entry('')), /keys out of order/, false)
  })

  it('reports a prefix or suffix that is not UTF-8 by itself, even when the whole key would be', () => {
    // '/x/' + F0 9F 98 | 80 and 81: the keys are /x/😀 and /x/😁, but the prefix splits a character.
    expectCorrupt(forge(payload([...bytes('/x/'), 0xf0, 0x9f, 0x98], entry([0x80]), entry([0x81])), 2), /not valid UTF-8/, false)
    expectCorrupt(leaf(1, entry([0xff])), /not valid UTF-8/, false)
  })

  it('reports an empty leaf and a leaf claiming a level', () => {
    expectCorrupt(forge(payload(''), 0), /empty leaf/, false)
    expectCorrupt(forge(payload('/p/', entry('a')), 1, { level: 1 }), /leaf claims level 1/, false)
  })

  it('accepts a prefix shorter than the common one (harmless), and rewrites such a leaf with the longest', () => {
    const { io, ptr } = forge(payload('', entry('/logs/a', [1]), entry('/logs/b', [2])), 2)
    const cat = prefixCatalog.open(io, ptr)
    expect([...cat.entries()].map(([k]) => k)).toEqual(['/logs/a', '/logs/b'])
    expect(() => prefixCatalog.visit(io, ptr)).not.toThrow()
    // A copy (vacuum) keeps keys and value lengths, and is written in the canonical form: smaller.
    const page = prefixCatalog.readPage(io, ptr)
    const to = io.allocate(1)
    const moved = prefixCatalog.copyPage((n, b) => io.stage(n, b), page, ptr, to, [new Uint8Array([5]), new Uint8Array([6])])
    io.commit()
    expect(parsePrefixLeaf(io.pages.get(moved.page)!).prefix).toBe('/logs/')
    expect(readHeader(io.pages.get(moved.page)!).used).toBeLessThan(readHeader(io.pages.get(ptr.page)!).used)
    expect([...prefixCatalog.open(io, moved).entries()].map(([k, v]) => [k, v[0]])).toEqual([['/logs/a', 5], ['/logs/b', 6]])
    cat.put('/logs/c', utf8('c'))
    const root = cat.flush()
    io.commit()
    expect(parsePrefixLeaf(io.pages.get(root.page)!).prefix).toBe('/logs/')
  })

  it('reports a leaf whose keys lie outside its parent separators', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `/dir${i % 100}/file${i}`)
    const { io, root } = build(prefixCatalog, keys, () => utf8('value'))
    const page = io.pages.get(root.page)!.slice()
    const h = readHeader(page)
    expect(h).toMatchObject({ type: PageType.CATALOG_BRANCH, level: 1 })
    // Swap the pointers of children 1 and 2.
    const v = viewOf(page)
    const first = PAGE_HEADER_SIZE + 24
    const a = first + 2 + v.getUint16(first, true)
    const second = a + 24
    const b = second + 2 + v.getUint16(second, true)
    const ptrA = page.slice(a, a + 24)
    page.copyWithin(a, b, b + 24)
    page.set(ptrA, b)
    const { checksum: _, ...fields } = h
    const forged = { ...root, checksum: sealPage(page, fields) }
    io.pages.set(root.page, page)
    expect(() => prefixCatalog.visit(io, forged)).toThrow(withCode('CARTRIDGE_CORRUPT'))
    expect(() => prefixCatalog.visit(io, forged)).toThrow(/parent separator/)
    expect(() => [...prefixCatalog.open(io, forged).entries()]).toThrow(withCode('CARTRIDGE_CORRUPT'))
  })
})

describe('catalogs meeting the other catalog’s leaves', () => {
  /** A reader that hands pages back without checking their type, as a cache hit may. */
  const unchecked = (io: MemoryPageIO): Pick<PageIO, 'read'> => ({ read: (ptr) => io.pages.get(ptr.page)! })

  it('the reference reports a type-11 page as damage naming it, never reading it', () => {
    const { io, root } = build(prefixCatalog, ['/a/1', '/a/2'], () => utf8('v'))
    const damaged = withCode('CARTRIDGE_CHECKSUM', root.page)
    // Through a verifying read, the type is checked first (§4, check 3).
    expect(() => btreeCatalog.open(io, root).get('/a/1')).toThrow(damaged)
    expect(() => btreeCatalog.open(io, root).get('/a/1')).toThrow(/unexpected page type 11/)
    expect(() => btreeCatalog.visit(io, root)).toThrow(damaged)
    expect(() => btreeCatalog.refs(io, root)).toThrow(damaged)
    expect(() => btreeCatalog.readPage(io, root)).toThrow(damaged)
    // A page handed back unchecked is still refused: not a catalog page.
    const corrupt = withCode('CARTRIDGE_CORRUPT', root.page)
    for (const read of [() => btreeCatalog.visit(unchecked(io), root), () => btreeCatalog.refs(unchecked(io), root), () => btreeCatalog.readPage(unchecked(io), root)]) {
      expect(read).toThrow(corrupt)
      expect(read).toThrow(/not a catalog page \(type 11\)/)
    }
  })

  it('the prefix catalog reports a type-2 page the same way', () => {
    const { io, root } = build(btreeCatalog, ['/a/1', '/a/2'], () => utf8('v'))
    expect(() => prefixCatalog.open(io, root).get('/a/1')).toThrow(withCode('CARTRIDGE_CHECKSUM', root.page))
    expect(() => prefixCatalog.visit(io, root)).toThrow(/unexpected page type 2/)
    for (const read of [() => prefixCatalog.visit(unchecked(io), root), () => prefixCatalog.refs(unchecked(io), root), () => prefixCatalog.readPage(unchecked(io), root)]) {
      expect(read).toThrow(withCode('CARTRIDGE_CORRUPT', root.page))
      expect(read).toThrow(/not a catalog page \(type 2\)/)
    }
  })
})
