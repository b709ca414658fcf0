import { compareKeys } from '@cartridge/core'
import type { BlockPtr } from '@cartridge/pager'
import { visitCatalog } from '@cartridge/catalog'
import type { Engine } from './engine.js'
import { decodeFileRecord } from './file-record.js'
import { chunkPages, chunksOf, loadChunk } from './content.js'
import { walkBlocks } from './block-walk.js'

/** Result of a structural check. */
export interface CheckReport {
  /** True when no problem was found. */
  ok: boolean
  /** One line per problem, naming the page or path. */
  problems: string[]
  files: number
  /** Pages reachable from the committed state. */
  referencedPages: number
  /** Pages the free map marks used. */
  usedPages: number
  totalPages: number
  /** Snapshots checked (their catalogs, chunk maps and content runs). */
  snapshots: number
  /**
   * Used pages nothing references while snapshots exist: kept because a snapshot might have held
   * them (after a restore), freed by the next snapshot deletion or vacuum. Without snapshots any
   * such page is a leak and a problem.
   */
  unreferencedPages: number
}

/**
 * Walks everything the last commit references (catalog, chunk maps, content runs, free map) and
 * reports pages that belong to two owners, referenced pages the free map calls free, used pages
 * nothing references (leaks), out-of-range pages, a wrong file count, and (with `data`) content
 * that fails its checksum.
 */
export function checkEngine(e: Engine, options: { data?: boolean } = {}): CheckReport {
  const problems: string[] = []
  const total = e.alloc.totalPages
  const owner = new Map<number, string>([[0, 'meta'], [1, 'meta']])
  /** Identity (birth txn and length) of each block by its first page: a snapshot may share it. */
  const blocks = new Map<number, string>()
  const claim = (page: number, count: number, who: string, txn = -1) => {
    blocks.set(page, `${txn}:${count}`)
    for (let p = page; p < page + count; p++) {
      if (p < 2 || p >= total) problems.push(`page ${p} (${who}) is outside the container (${total} pages)`)
      const prev = owner.get(p)
      if (prev !== undefined) problems.push(`page ${p} belongs to both ${prev} and ${who}`)
      else owner.set(p, who)
    }
  }
  let files = 0
  let prevKey: string | undefined
  try {
    visitCatalog(e, e.meta.catalogRoot, {
      onNode: (ptr: BlockPtr) => claim(ptr.page, 1, 'catalog', ptr.txn),
      onEntry: (key: string, value: Uint8Array) => {
        files++
        if (prevKey !== undefined && compareKeys(prevKey, key) >= 0) problems.push(`catalog keys out of order at ${key}`)
        prevKey = key
        try {
          const r = decodeFileRecord(value, key)
          const chunks = chunksOf(e, r, (p) => claim(p.page, 1, `${key} (chunk map)`, p.txn))
          let size = 0
          for (const c of chunks) {
            claim(c.page, chunkPages(c), key, c.txn)
            size += c.logicalLength
            if (options.data) loadChunk(e, c, key)
          }
          if (r.kind !== 0 && size !== r.size) problems.push(`${key}: chunks hold ${size} bytes, record says ${r.size}`)
        } catch (err) {
          problems.push(`${key}: ${(err as Error).message}`)
        }
      },
    })
  } catch (err) {
    problems.push(`catalog: ${(err as Error).message}`)
  }
  for (const p of e.alloc.mapPages) claim(p.page, 1, 'free map')
  for (const p of e.snapshotTablePages) claim(p.page, 1, 'snapshot table')
  const snapshots = e.snapshots
  for (const snap of snapshots) {
    const who = `snapshot ${snap.id}`
    try {
      walkBlocks(e, snap.catalogRoot, {
        enter(page, count, txn) {
          // A block the live state or an earlier snapshot reached already is shared, not a conflict.
          if (blocks.get(page) === `${txn}:${count}`) return null
          claim(page, count, who, txn)
          return this
        },
      })
    } catch (err) {
      problems.push(`${who}: ${(err as Error).message}`)
    }
  }
  let used = 0
  let unreferenced = 0
  for (let p = 0; p < total; p++) {
    const isUsed = e.alloc.isUsed(p)
    if (isUsed) used++
    if (isUsed && !owner.has(p)) {
      unreferenced++
      if (snapshots.length === 0) problems.push(`page ${p} is marked used but nothing references it (leak)`)
    }
    if (!isUsed && owner.has(p)) problems.push(`page ${p} (${owner.get(p)}) is referenced but marked free`)
  }
  if (files !== e.meta.fileCount) problems.push(`meta says ${e.meta.fileCount} files, catalog holds ${files}`)
  return {
    ok: problems.length === 0, problems, files, referencedPages: owner.size, usedPages: used, totalPages: total,
    snapshots: snapshots.length, unreferencedPages: unreferenced,
  }
}
