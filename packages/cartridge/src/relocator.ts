import { PageType, isNullPtr, readPointerNode, writePointerNode, type BlockPtr, type PageIO } from '@cartridge/pager'
import { copyCatalogPage, readCatalogPage } from '@cartridge/catalog'
import { PageMarks } from '@cartridge/snapshot'
import type { Engine } from './engine.js'
import { RecordKind, decodeFileRecord, encodeFileRecord, type ChunkRecord } from './file-record.js'
import { chunkPages, loadChunk, readMapLeaf, writeMapLeaf } from './content.js'

/**
 * Moves each block that lies at or above page `limit` into the lowest free pages below where it
 * is (when there are any), for one vacuum step. Every root (the live state and each snapshot) is rewritten through the same memo, so a
 * block that roots share is moved once and stays shared. A moved block keeps its birth txn (what
 * snapshot retention reasons with), so the step must be committed with a barrier: moved pages are
 * synced before the meta page that points at them. The old copies are freed as the step goes.
 */
export class Relocator {
  /** Pages copied from at or above the limit. */
  movedPages = 0
  /** Pages rewritten below the limit because something under them moved. */
  rewrittenPages = 0
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
    const done = this.#nodes.get(root.page)
    if (done) return done
    if (this.#kept.has(root.page)) return root
    const page = readCatalogPage(this.#e, root)
    let changed = false
    const replace = page.leaf
      ? page.values.map((v, i) => {
        const next = this.#value(v, page.keys[i])
        if (next !== v) changed = true
        return next
      })
      : page.children.map((c) => {
        const next = this.catalog(c)
        if (next !== c) changed = true
        return next
      })
    const to = this.#place(root.page, 1, changed)
    if (to === undefined) {
      this.#kept.mark(root.page, 1)
      return root
    }
    const moved = copyCatalogPage((n, bytes) => this.#e.stage(n, bytes), page, root, to, replace)
    return this.#moved(root, moved)
  }

  /** A catalog value with its chunk map or content runs moved (the same array when nothing moved). */
  #value(value: Uint8Array, path: string): Uint8Array {
    const r = decodeFileRecord(value, path)
    if (r.kind === RecordKind.DIRECT) {
      let changed = false
      const chunks = r.chunks!.map((c) => {
        const next = this.#run(c, path)
        if (next !== c) changed = true
        return next
      })
      return changed ? encodeFileRecord({ ...r, chunks }) : value
    }
    if (r.kind === RecordKind.MAP) {
      const map = this.#map({ ...r.map!, aux: 0 }, r.map!.aux, path)
      return map.page === r.map!.page ? value : encodeFileRecord({ ...r, map: { ...map, aux: r.map!.aux } })
    }
    return value
  }

  /** A chunk-map node (`height` 0: a leaf of chunk records) with everything under it moved. */
  #map(ptr: BlockPtr, height: number, path: string): BlockPtr {
    const done = this.#nodes.get(ptr.page)
    if (done) return done
    if (this.#kept.has(ptr.page)) return ptr
    const io = this.#birthIO(ptr)
    let changed = false
    let write: (pageNo: number) => BlockPtr
    if (height === 0) {
      const records = readMapLeaf(this.#e, ptr).map((c) => {
        const next = this.#run(c, path)
        if (next !== c) changed = true
        return next
      })
      write = (pageNo) => writeMapLeaf(io, records, pageNo)
    } else {
      const children = readPointerNode(this.#e.read(ptr, PageType.POINTER_NODE)).map((c) => {
        const next = this.#map(c, height - 1, path)
        if (next !== c) changed = true
        return next
      })
      write = (pageNo) => writePointerNode(io, height, children, pageNo)
    }
    const to = this.#place(ptr.page, 1, changed)
    if (to === undefined) {
      this.#kept.mark(ptr.page, 1)
      return ptr
    }
    return this.#moved(ptr, write(to))
  }

  /** A content run, copied below the limit when it lies at or above it and room allows. */
  #run(c: ChunkRecord, path: string): ChunkRecord {
    const count = chunkPages(c)
    const done = this.#runs.get(c.page)
    if (done !== undefined) return { ...c, page: done }
    if (c.page + count <= this.#limit || this.movedPages >= this.#budget) return c
    const to = this.#e.alloc.allocateBelow(count, c.page)
    if (to === undefined) return c
    // Copy verified bytes only: a damaged chunk stops the vacuum rather than spread.
    this.#e.store.write(to, loadChunk(this.#e, c, path))
    this.#e.alloc.free(c.page, count, { reusable: false })
    this.#runs.set(c.page, to)
    this.movedPages += count
    return { ...c, page: to }
  }

  /**
   * Where a node goes: lower down when it lies at or above the limit (while the budget lasts),
   * or the lowest free page when it must be rewritten because something under it moved;
   * `undefined` to leave it in place.
   */
  #place(page: number, count: number, mustWrite: boolean): number | undefined {
    const inTail = page + count > this.#limit
    if (!mustWrite && (!inTail || this.movedPages >= this.#budget)) return undefined
    const low = this.#e.alloc.allocateBelow(count, mustWrite ? this.#e.alloc.totalPages : page)
    if (low !== undefined) {
      if (inTail && low < page) this.movedPages += count
      else this.rewrittenPages += count
      return low
    }
    if (!mustWrite) return undefined
    this.rewrittenPages += count
    return this.#e.allocate(count)
  }

  #moved(old: BlockPtr, copy: BlockPtr): BlockPtr {
    this.#e.alloc.free(old.page, 1, { reusable: false })
    this.#nodes.set(old.page, copy)
    return copy
  }

  /** Page IO that seals pages with `ptr`'s birth txn instead of the current one. */
  #birthIO(ptr: BlockPtr): PageIO {
    const e = this.#e
    return { txn: ptr.txn, read: (p, t) => e.read(p, t), allocate: (n) => e.allocate(n), free: (p) => e.free(p), stage: (n, page) => e.stage(n, page) }
  }
}
