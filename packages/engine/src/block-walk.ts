import { CartridgeError, ErrorCodes, viewOf } from '@cartridge/core'
import { PAGE_HEADER_SIZE, PageType, isNullPtr, readBlockPtr, readPointerNode, type BlockPtr, type PageIO } from '@cartridge/pager'
import type { CatalogFactory } from '@cartridge/catalog'
import type { BlockVisitor } from '@cartridge/snapshot'
import { RECORD_HEADER_SIZE, RecordKind, chunkRunAt, recordSizeForFlags } from './file-record.js'
import { mapLeafStride } from './chunk-map.js'

/**
 * Shows `visitor` every block reachable from catalog root `root`: catalog pages, then for each
 * file its chunk-map pages and content runs. The visitor decides where to descend, so walks that
 * share subtrees (a snapshot and the live state) read a shared page once. Only what locates
 * blocks is decoded (no keys, no whole records): marking and space accounting walk everything.
 * Catalog nodes are read by the container's catalog implementation through `nodes` (default
 * `io`), which may reuse one page for each read.
 */
export function walkBlocks(
  catalog: Pick<CatalogFactory, 'refs'>, io: Pick<PageIO, 'read'>, root: BlockPtr, visitor: BlockVisitor, nodes: Pick<PageIO, 'read'> = io,
): void {
  if (isNullPtr(root)) return
  const catalogNode = (ptr: BlockPtr, v: BlockVisitor): void => {
    const next = v.enter(ptr.page, 1, ptr.txn)
    if (!next) return
    // A branch's children are copied out, and a leaf's values used, before `nodes` reads again.
    const refs = catalog.refs(nodes, ptr)
    if (refs.leaf) for (const value of refs.values) walkValue(io, value, next, ptr.page)
    else for (const child of refs.children) catalogNode(child, next)
  }
  catalogNode(root, visitor)
}

/** Shows `v` the chunk-map pages and content runs of one encoded file record (a catalog value). */
function walkValue(io: Pick<PageIO, 'read'>, value: Uint8Array, v: BlockVisitor, leafPage: number): void {
  const kind = value[0]
  if (kind === RecordKind.INLINE) return
  const view = viewOf(value)
  if (kind === RecordKind.DIRECT) {
    const size = recordSizeForFlags(value[2])
    for (let off = RECORD_HEADER_SIZE; off + size <= value.length; off += size) chunkRunAt(view, off, v)
  } else if (kind === RecordKind.MAP && value.length >= RECORD_HEADER_SIZE + 24) {
    const map = readBlockPtr(view, RECORD_HEADER_SIZE)
    walkMap(io, { ...map, aux: 0 }, map.aux, v)
  } else {
    throw new CartridgeError(ErrorCodes.CORRUPT, `a file record in catalog page ${leafPage} is damaged`, { page: leafPage })
  }
}


function walkMap(io: Pick<PageIO, 'read'>, ptr: BlockPtr, height: number, v: BlockVisitor): void {
  const next = v.enter(ptr.page, 1, ptr.txn)
  if (!next) return
  if (height === 0) {
    const page = io.read(ptr, PageType.CHUNK_MAP_LEAF)
    const view = viewOf(page)
    const count = view.getUint16(6, true)
    const stride = mapLeafStride(page, ptr.page)
    for (let j = 0; j < count; j++) chunkRunAt(view, PAGE_HEADER_SIZE + j * stride, next)
    return
  }
  for (const child of readPointerNode(io.read(ptr, PageType.POINTER_NODE))) walkMap(io, child, height - 1, next)
}
