import { compareKeys } from '@cartridge/core'
import type { BlockPtr } from '@cartridge/pager'
import type { Engine } from './engine.js'
import { RecordKind, decodeFileRecord } from './file-record.js'
import { checkChunk, chunksOf } from './chunk-map.js'
import { chunkPages, loadChunk } from './chunk-load.js'

/** Result of a structural check. */
export interface CheckReport {
  /** True when no problem was found. */
  ok: boolean
  /** One line per problem, naming the page or path; at most {@link MAX_PROBLEMS} lines. */
  problems: string[]
  /** Problems found beyond the {@link MAX_PROBLEMS} listed (0 when all are listed). */
  omittedProblems: number
  files: number
  /** Pages reachable from the committed state. */
  referencedPages: number
  /** Pages the free map marks used. */
  usedPages: number
  totalPages: number
  /** Snapshots checked (their catalogs, chunk maps and content runs; their content too with `data`). */
  snapshots: number
  /**
   * Used pages nothing references while snapshots exist (kept because a snapshot might have held
   * them, after a restore; freed by the next snapshot deletion or vacuum), or while a damaged
   * structure hides what lies under it. Otherwise any such page is a leak and a problem.
   */
  unreferencedPages: number
}

/** Most problem lines a report lists; the rest are counted in `omittedProblems`. */
export const MAX_PROBLEMS = 1000

/** Problem lines, capped, with a count of the rest. */
class Problems {
  readonly lines: string[] = []
  omitted = 0
  add(line: string): void {
    if (this.lines.length < MAX_PROBLEMS) this.lines.push(line)
    else this.omitted++
  }
  get count(): number {
    return this.lines.length + this.omitted
  }
}

/**
 * Walks everything the last commit references (catalog, chunk maps, content runs, free map,
 * snapshot table, audit log, and every snapshot's tree) and reports pages that belong to two owners,
 * referenced pages the free map calls free, used pages nothing references (leaks), pointers
 * outside the container, a wrong file count, and (with `data`) content that fails its checksum,
 * the content only snapshots hold included. Every loop is bounded by the container's size,
 * whatever the pages say, and the report lists at most {@link MAX_PROBLEMS} problems.
 */
export function checkEngine(e: Engine, options: { data?: boolean } = {}): CheckReport {
  const problems = new Problems()
  const total = e.alloc.totalPages
  const owner = new Map<number, string>([[0, 'meta'], [1, 'meta']])
  /** Identity (birth txn and length) of each block by its first page: a snapshot may share it. */
  const blocks = new Map<number, string>()
  /** A structure could not be walked: what lies under it is unreachable, not leaked. */
  let damaged = false
  const fail = (what: string, err: unknown) => {
    damaged = true
    problems.add(`${what}${(err as Error)?.message ?? String(err)}`)
  }
  /** Records pages `[page, page + count)` for `who`; with `shared`, a block already seen as it is counts once. Returns whether it was new. */
  const claim = (page: number, count: number, who: string, txn: number, shared = false): boolean => {
    const id = `${txn}:${count}`
    if (shared && blocks.get(page) === id) return false
    blocks.set(page, id)
    const end = page + count
    if (!(page >= 2 && end <= total)) problems.add(`pages ${page}..${end - 1} (${who}) lie outside the container (${total} pages)`)
    for (let p = Math.max(page, 2), last = Math.min(end, total); p < last; p++) {
      const prev = owner.get(p)
      if (prev !== undefined) problems.add(`page ${p} belongs to both ${prev} and ${who}`)
      else owner.set(p, who)
    }
    return true
  }

  /** Walks one catalog tree and the content of its files; returns how many files it holds. */
  const walkTree = (root: BlockPtr, who: string, shared: boolean): number => {
    let files = 0
    let prevKey: string | undefined
    const sharedBlock = (ptr: BlockPtr) => shared && blocks.get(ptr.page) === `${ptr.txn}:1`
    const onEntry = (key: string, value: Uint8Array) => {
      files++
      if (prevKey !== undefined && compareKeys(prevKey, key) >= 0) problems.add(`${who}catalog keys out of order at ${key}`)
      prevKey = key
      try {
        const r = decodeFileRecord(value, key)
        // A chunk map another root reaches as it is was checked, content and all, from there.
        if (r.kind === RecordKind.MAP && sharedBlock(r.map!)) return
        const chunks = chunksOf(e, r, (p) => claim(p.page, 1, `${who}${key} (chunk map)`, p.txn, shared))
        let size = 0
        /** The run the last head chunk owns: continuations must lie inside it. */
        let run = { page: -1, bytes: 0, seen: false }
        chunks.forEach((c, i) => {
          checkChunk(c, i, r, key)
          size += c.logicalLength
          const pages = chunkPages(c)
          if (pages === 0) {
            if (c.page !== run.page || c.offset + c.storedLength > run.bytes) problems.add(`${who}${key}: chunk ${i} lies outside the run it continues`)
            if (run.seen || !options.data) return
          } else {
            run = { page: c.page, bytes: pages * 4096, seen: !claim(c.page, pages, `${who}${key}`, c.txn, shared) }
            if (c.storedLength > run.bytes) problems.add(`${who}${key}: chunk ${i} is longer than its run`)
            if (run.seen || !options.data) return
          }
          // Bad content is one problem; the file's other chunks are still accounted for.
          try {
            loadChunk(e, c, key, i, undefined, true)
          } catch (err) {
            problems.add(`${who}${key}: ${(err as Error).message}`)
          }
        })
        if (r.kind !== RecordKind.INLINE && size !== r.size) problems.add(`${who}${key}: chunks hold ${size} bytes, record says ${r.size}`)
      } catch (err) {
        fail(`${who}${key}: `, err)
      }
    }
    try {
      e.catalogFactory.visit(e, root, { skip: sharedBlock, onNode: (ptr: BlockPtr) => claim(ptr.page, 1, `${who}catalog`, ptr.txn, shared), onEntry })
    } catch (err) {
      fail(`${who}catalog: `, err)
    }
    return files
  }

  const files = walkTree(e.meta.catalogRoot, '', false)
  for (const p of e.alloc.mapPages) claim(p.page, 1, 'free map', -1)
  for (const p of e.snapshotTablePages) claim(p.page, 1, 'snapshot table', -1)
  for (const p of e.policyPages) claim(p.page, 1, 'access policy', -1)
  try {
    e.audit.visit(e, (p) => claim(p.page, 1, 'audit log', -1))
  } catch (err) {
    fail('audit log: ', err)
  }
  const snapshots = e.snapshots
  for (const snap of snapshots) walkTree(snap.catalogRoot, `snapshot ${snap.id}: `, true)

  let used = 0
  let unreferenced = 0
  for (let p = 0; p < total; p++) {
    const isUsed = e.alloc.isUsed(p)
    if (isUsed) used++
    if (isUsed && !owner.has(p)) {
      unreferenced++
      if (snapshots.length === 0 && !damaged) problems.add(`page ${p} is marked used but nothing references it (leak)`)
    }
    if (!isUsed && owner.has(p)) problems.add(`page ${p} (${owner.get(p)}) is referenced but marked free`)
  }
  if (damaged && unreferenced > 0) {
    problems.add(`${unreferenced} used pages are not reachable past the damage above (not counted as leaks)`)
  }
  if (files !== e.meta.fileCount) problems.add(`meta says ${e.meta.fileCount} files, catalog holds ${files}`)
  return {
    ok: problems.count === 0, problems: problems.lines, omittedProblems: problems.omitted, files, referencedPages: owner.size,
    usedPages: used, totalPages: total, snapshots: snapshots.length, unreferencedPages: unreferenced,
  }
}
