import { BTreeCatalog } from './btree-catalog.js'
import type { CatalogFactory } from './catalog-factory.js'
import { copyCatalogPage, readCatalogPage, readCatalogRefs } from './catalog-page.js'
import { visitCatalog } from './visit-catalog.js'

/** The reference catalog: {@link BTreeCatalog}, the copy-on-write B+tree of §9 of `spec/FORMAT.md`. */
export const btreeCatalog: CatalogFactory = Object.freeze<CatalogFactory>({
  id: 'btree',
  open: (io, root, options) => new BTreeCatalog(io, root, options),
  visit: visitCatalog,
  refs: readCatalogRefs,
  readPage: readCatalogPage,
  copyPage: copyCatalogPage,
})
