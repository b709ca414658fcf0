import { PageType, isNullPtr, readPointerNode, type BlockPtr, type PageIO } from '@cartridge/pager'
import { readCatalogPage } from '@cartridge/catalog'
import type { BlockVisitor } from '@cartridge/snapshot'
import { RecordKind, decodeFileRecord, type FileRecord } from './file-record.js'
import { chunkPages, readMapLeaf } from './content.js'

/**
 * Shows `visitor` every block reachable from catalog root `root`: catalog pages, then for each
 * file its chunk-map pages and content runs. The visitor decides where to descend, so walks that
 * share subtrees (a snapshot and the live state) read a shared page once.
 */
export function walkBlocks(io: Pick<PageIO, 'read'>, root: BlockPtr, visitor: BlockVisitor): void {
  if (isNullPtr(root)) return
  const catalogNode = (ptr: BlockPtr, v: BlockVisitor): void => {
    const next = v.enter(ptr.page, 1, ptr.txn)
    if (!next) return
    const page = readCatalogPage(io, ptr)
    if (page.leaf) {
      for (let i = 0; i < page.values.length; i++) walkRecord(io, decodeFileRecord(page.values[i], page.keys[i]), next)
    } else {
      for (const child of page.children) catalogNode(child, next)
    }
  }
  catalogNode(root, visitor)
}

/** Shows `visitor` the chunk-map pages and content runs of one file record. */
export function walkRecord(io: Pick<PageIO, 'read'>, r: FileRecord, v: BlockVisitor): void {
  if (r.kind === RecordKind.DIRECT) {
    for (const c of r.chunks!) v.enter(c.page, chunkPages(c), c.txn)
  } else if (r.kind === RecordKind.MAP) {
    walkMap(io, { ...r.map!, aux: 0 }, r.map!.aux, v)
  }
}

function walkMap(io: Pick<PageIO, 'read'>, ptr: BlockPtr, height: number, v: BlockVisitor): void {
  const next = v.enter(ptr.page, 1, ptr.txn)
  if (!next) return
  if (height === 0) {
    for (const c of readMapLeaf(io, ptr)) next.enter(c.page, chunkPages(c), c.txn)
    return
  }
  for (const child of readPointerNode(io.read(ptr, PageType.POINTER_NODE))) walkMap(io, child, height - 1, next)
}
