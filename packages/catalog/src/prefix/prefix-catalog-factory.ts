import { BTreeCatalog } from '../btree-catalog.js'
import type { CatalogFactory } from '../catalog-factory.js'
import { copyCatalogPage, readCatalogPage, readCatalogRefs } from '../catalog-page.js'
import { visitCatalog } from '../visit-catalog.js'
import { prefixLeafLayout } from './prefix-leaf.js'

/**
 * The reference B+tree ({@link BTreeCatalog}, §9 of `spec/FORMAT.md`) with prefix-compressed
 * leaves (type 11, `prefixLeafLayout`): each leaf stores its keys' common prefix once, so keys
 * that share long prefixes (time-named logs, deep directory trees) take fewer pages. Branches are
 * the reference's. A container written with it records the id `btree-prefix`, and opening it
 * again takes this factory in the open options.
 */
export const prefixCatalog: CatalogFactory = Object.freeze<CatalogFactory>({
  id: 'btree-prefix',
  open: (io, root, options) => new BTreeCatalog(io, root, { ...options, layout: prefixLeafLayout }),
  visit: (io, root, options) => visitCatalog(io, root, options, prefixLeafLayout),
  refs: (io, ptr) => readCatalogRefs(io, ptr, prefixLeafLayout),
  readPage: (io, ptr) => readCatalogPage(io, ptr, prefixLeafLayout),
  copyPage: (stage, page, ptr, pageNo, replace) => copyCatalogPage(stage, page, ptr, pageNo, replace, prefixLeafLayout),
})
