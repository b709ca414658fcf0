import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { PAGE_SIZE, type BlockPtr } from '@cartridge/pager'
import type { Engine } from './engine.js'
import { Relocator } from './relocator.js'
import { relocateAuditPages } from '@cartridge/audit'

/** Progress of {@link vacuumEngine}, reported after each step. */
export interface VacuumProgress {
  /** `'sweep'`: pages nothing references were freed; `'move'`: a step of moving committed; `'truncate'`: the file was cut. */
  phase: 'sweep' | 'move' | 'truncate'
  /** Pages moved toward the start so far. */
  movedPages: number
  /** Used pages that lay beyond the compacted size when the vacuum began (what it set out to move). */
  pagesToMove: number
  /** Container size now, in pages. */
  totalPages: number
}

/** Options of a vacuum. */
export interface VacuumOptions {
  /** Stops between steps; the steps done stay committed, and the next vacuum goes on from there. */
  signal?: AbortSignal
  onProgress?: (p: VacuumProgress) => void
  /** Most pages one step (one commit) moves; default 8192 (32 MiB). */
  stepPages?: number
}

/** What a vacuum did. */
export interface VacuumResult {
  /** Pages moved toward the start. */
  movedPages: number
  /** Unreferenced pages freed before moving (left by restores). */
  sweptPages: number
  /** Container size before and after, in bytes. */
  bytesBefore: number
  bytesAfter: number
  /** Commits made. */
  commits: number
}

/**
 * One step: moves up to `step` pages from at or above `limit` lower down, for the live state and
 * every snapshot, and commits with a barrier (moved pages keep their birth txn, which recovery
 * cannot check). Returns the pages moved; 0 when nothing more fits, and then nothing is committed.
 */
function moveStep(e: Engine, limit: number, step: number): number {
  let moved: number
  try {
    moved = e.apply(() => {
      const r = new Relocator(e, limit, step)
      const live = r.catalog(e.cleanRoot)
      const roots = new Map<number, BlockPtr>()
      for (const s of e.snapshots) roots.set(s.id, r.catalog(s.catalogRoot))
      e.installRoots(live, roots)
      let moved = r.movedPages
      const log = e.audit.workingState
      if (log && moved < step) {
        const m = relocateAuditPages(e.structureIO, log.state, log.head, limit, () => e.alloc.allocateBelow(1, limit), step - moved)
        if (m) {
          e.audit.relocated(m.state, m.head)
          moved += m.moved
        }
      }
      e.movePolicy(limit)
      e.alloc.relocateMap(limit)
      e.alloc.rewind()
      return moved
    })
  } catch (err) {
    e.abort()
    throw err
  }
  if (moved === 0) {
    e.abort()
    return 0
  }
  e.commit(true, { barrier: true })
  e.dropCaches()
  return moved
}

/**
 * Shrinks the container to end after its last used page, keeping room for the free-map pages the
 * commit rewrites, and truncates the file. Returns whether it did.
 */
function truncate(e: Engine): boolean {
  let size = e.alloc.highestUsed() + 1
  const freeBelow = size - (e.alloc.totalPages - e.alloc.freePages)
  const mapPages = e.alloc.mapPagesFor(size) + 1
  if (freeBelow < mapPages) size += mapPages - freeBelow
  // Leave some room, so the next writes do not grow the file straight back.
  size = Math.max(size, 3, e.alloc.totalPages - e.alloc.freePages + e.vacuumHeadroom)
  if (size >= e.alloc.totalPages) return false
  try {
    e.apply(() => {
      e.alloc.shrink(size)
      e.alloc.rewind()
    })
  } catch (err) {
    // Pages past the new end are reserved (a write stream started meanwhile): cut next time.
    if (err instanceof CartridgeError && err.code === ErrorCodes.INVALID_ARGUMENT) return false
    throw err
  }
  e.commit(true)
  if (e.store.pageCount() > e.alloc.totalPages) e.store.resize(e.alloc.totalPages)
  return true
}

/** The synchronous pieces a vacuum runs between its awaits. */
export interface VacuumHost {
  readonly engine: Engine
  /** Yields to the event loop between steps (so readers go on). */
  pause(): Promise<void>
}

/**
 * Compacts a container: frees pages nothing references, moves the blocks that lie beyond the
 * used size into free pages below it (live state and snapshots together, in steps of one synced
 * commit each), then shrinks the container to its last used page (plus headroom: see
 * `Engine.vacuumHeadroom`) and truncates the file. Every
 * step is a commit, so a crash or an abort leaves a consistent container at the last step, and
 * a later vacuum goes on from there.
 */
export async function vacuumEngine(host: VacuumHost, options: VacuumOptions = {}): Promise<VacuumResult> {
  const e = host.engine
  const step = options.stepPages ?? 8192
  if (!Number.isInteger(step) || step < 1) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'stepPages must be a positive integer')
  const bytesBefore = e.alloc.totalPages * PAGE_SIZE
  let commits = 0
  let moved = 0
  const report = (phase: VacuumProgress['phase'], pagesToMove: number) =>
    options.onProgress?.({ phase, movedPages: moved, pagesToMove, totalPages: e.alloc.totalPages })
  const checkAbort = () => {
    if (options.signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'vacuum was aborted; what it moved so far is committed', { cause: options.signal.reason })
  }
  checkAbort()

  // Durable first, so no page is held back for the previous commit.
  e.commit(true)
  const swept = e.apply(() => {
    const n = e.sweep()
    e.note({ action: 'vacuum', detail: `swept ${n} pages` })
    return n
  })
  if (swept > 0 || e.audit.enabled) {
    e.commit(true)
    commits++
  }
  report('sweep', 0)

  // Blocks at or above `limit` (the used page count: where everything would end if packed) move
  // down, each into the lowest free run below where it is; then the file is cut after the last
  // used page. Cutting frees the old map pages, which can let another block move: repeat until a
  // round changes nothing.
  const limit = e.alloc.totalPages - e.alloc.freePages
  const pagesToMove = e.alloc.usedFrom(limit)
  for (let round = 0; round < 8; round++) {
    let movedThisRound = 0
    for (;;) {
      checkAbort()
      const n = moveStep(e, limit, step)
      if (n === 0) break
      commits++
      moved += n
      movedThisRound += n
      report('move', pagesToMove)
      await host.pause()
    }
    checkAbort()
    if (!truncate(e)) {
      if (movedThisRound === 0) break
      continue
    }
    commits++
    report('truncate', pagesToMove)
    if (movedThisRound === 0 && round > 0) break
  }
  return { movedPages: moved, sweptPages: swept, bytesBefore, bytesAfter: e.alloc.totalPages * PAGE_SIZE, commits }
}
