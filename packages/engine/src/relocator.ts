import { PAGE_SIZE, PageType, isNullPtr, readPointerNode, writePointerNode, type BlockPtr, type PageIO } from '@cartridge/pager'
import { PageMarks } from '@cartridge/snapshot'
import type { Engine } from './engine.js'
import { RecordKind, decodeFileRecord, encodeFileRecord, type ChunkRecord } from './file-record.js'
import { chunkPages, loadStored } from './chunk-load.js'
import { hasPageSums, readMapLeaf, writeMapLeaf } from './chunk-map.js'


/**
 * Moves each block that lies at or above page `limit` into the lowest free pages below where it
 * is (when there are any), for one vacuum step. Every root (the live state and each snapshot) is
 * rewritten through the same memo, so a block that roots share is moved once and stays shared. A moved block keeps its birth txn (what
 * snapshot retention reasons with), so the step must be committed with a barrier: moved pages are
 * synced before the meta page that points at them. The old copies are freed as the step goes.
 */
export class Relocator {
  /** Pages copied from at or above the limit. */
  movedPages = 0
  readonly #e: Engine
  readonly #limit: number
  readonly #budget: number
  /** Old page → the copy, for every node rewritten in this step. */
  readonly #nodes = new Map<number, BlockPtr>()
  /** Old first page → new first page, for every content run moved in this step. */
  readonly #runs = new Map<number, number>()
  /** Nodes this step leaves where they are (with everything below them). */
  readonly #kept: PageMarks

  /** @param budget pages to move at most (a step ends early rather than hold more in one commit) */
  constructor(e: Engine, limit: number, budget: number) {
    this.#e = e
    this.#limit = limit
    this.#budget = budget
    this.#kept = new PageMarks(e.alloc.totalPages)
  }

  /** The root of the moved catalog at `root` (the same pointer when nothing under it moved). */
  catalog(root: BlockPtr): BlockPtr {
    if (isNullPtr(root)) return root
    return this.#node(root, () => {
      const page = this.#e.catalogFactory.readPage(this.#e, root)
      const next = page.leaf ? mapped(page.values, (v, i) => this.#value(v, page.keys[i])) : mapped(page.children, (c) => this.catalog(c))
      const stage = (n: number, bytes: Uint8Array) => this.#e.stage(n, bytes)
      return { changed: next !== undefined, write: (to) => this.#e.catalogFactory.copyPage(stage, page, root, to, next ?? (page.leaf ? page.values : page.children)) }
    })
  }

  /** A catalog value with its chunk map or content runs moved (the same array when nothing moved). */
  #value(value: Uint8Array, path: string): Uint8Array {
    const r = decodeFileRecord(value, path)
    if (r.kind === RecordKind.DIRECT) {
      const chunks = mapped(r.chunks!, (c) => this.#run(c, path))
      return chunks ? encodeFileRecord({ ...r, chunks }) : value
    }
    if (r.kind === RecordKind.MAP) {
      const map = this.#map({ ...r.map!, aux: 0 }, r.map!.aux, path)
      return map.page === r.map!.page ? value : encodeFileRecord({ ...r, map: { ...map, aux: r.map!.aux } })
    }
    return value
  }

  /** A chunk-map node (`height` 0: a leaf of chunk records) with everything under it moved. */
  #map(ptr: BlockPtr, height: number, path: string): BlockPtr {
    return this.#node(ptr, () => {
      const io = this.#birthIO(ptr)
      if (height === 0) {
        const records = readMapLeaf(this.#e, ptr)
        const next = mapped(records, (c) => this.#run(c, path))
        return { changed: next !== undefined, write: (to) => writeMapLeaf(io, next ?? records, to, undefined, hasPageSums(records)) }
      }
      const children = readPointerNode(this.#e.read(ptr, PageType.POINTER_NODE))
      const next = mapped(children, (c) => this.#map(c, height - 1, path))
      return { changed: next !== undefined, write: (to) => writePointerNode(io, height, next ?? children, to) }
    })
  }

  /**
   * What every node kind shares: the memo, where the node goes, the copy and freeing the old
   * page. `below` moves what lies under the node and says whether that changed it and how to
   * write its copy at a given page.
   */
  #node(ptr: BlockPtr, below: () => { changed: boolean; write: (pageNo: number) => BlockPtr }): BlockPtr {
    const done = this.#nodes.get(ptr.page)
    if (done) return done
    if (this.#kept.has(ptr.page)) return ptr
    const { changed, write } = below()
    const to = this.#place(ptr.page, changed)
    if (to === undefined) {
      this.#kept.mark(ptr.page, 1)
      return ptr
    }
    const copy = write(to)
    this.#e.alloc.free(ptr.page, 1, { reusable: false })
    this.#nodes.set(ptr.page, copy)
    return copy
  }

  /**
   * A content run, copied below the limit when it lies at or above it and room allows. A
   * continuation follows its head (the head comes first in file order, through the memo).
   */
  #run(c: ChunkRecord, path: string): ChunkRecord {
    const count = chunkPages(c)
    const done = this.#runs.get(c.page)
    if (done !== undefined) return { ...c, page: done }
    if (count === 0 || c.page + count <= this.#limit || this.movedPages >= this.#budget) return c
    const to = this.#e.alloc.allocateBelow(count, c.page)
    if (to === undefined) return c
    // Copy verified bytes only: a damaged chunk stops the vacuum rather than spread. A packed
    // run is copied whole (its head verified; the continuations keep their checksums).
    const head = loadStored(this.#e, c, path)
    if (c.runPages !== 0) {
      // A packed run: the continuations' bytes follow the head's, in the same pages.
      const run = new Uint8Array(count * PAGE_SIZE)
      this.#e.store.read(c.page, run)
      run.set(head)
      this.#e.store.write(to, run)
    } else this.#e.store.write(to, head)
    this.#e.alloc.free(c.page, count, { reusable: false })
    this.#runs.set(c.page, to)
    this.movedPages += count
    return { ...c, page: to }
  }

  /**
   * Where a node page goes: lower down when it lies at or above the limit (while the budget
   * lasts), or the lowest free page when it must be rewritten because something under it moved;
   * `undefined` to leave it in place.
   */
  #place(page: number, mustWrite: boolean): number | undefined {
    const inTail = page >= this.#limit
    if (!mustWrite && (!inTail || this.movedPages >= this.#budget)) return undefined
    const low = this.#e.alloc.allocateBelow(1, mustWrite ? this.#e.alloc.totalPages : page)
    if (low !== undefined) {
      if (inTail && low < page) this.movedPages++
      return low
    }
    return mustWrite ? this.#e.allocate(1) : undefined
  }

  /** Page IO that seals pages with `ptr`'s birth txn instead of the current one. */
  #birthIO(ptr: BlockPtr): PageIO {
    const e = this.#e
    return { txn: ptr.txn, read: (p, t) => e.read(p, t), allocate: (n) => e.allocate(n), free: (p) => e.free(p), stage: (n, page) => e.stage(n, page) }
  }
}

/** `items` with `fn` applied, or `undefined` when `fn` returned every item unchanged. */
function mapped<T>(items: readonly T[], fn: (item: T, i: number) => T): T[] | undefined {
  let changed = false
  const out = items.map((item, i) => {
    const next = fn(item, i)
    if (next !== item) changed = true
    return next
  })
  return changed ? out : undefined
}
