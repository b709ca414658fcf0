export type { PageStore } from './page-store.js'
export { SECTOR_SIZE } from './page-store.js'
export { MemoryPageStore } from './memory-page-store.js'
export { FilePageStore, type FilePageStoreOptions } from './file-page-store.js'
export { FileLock, defaultLockKind, type LockKind } from './file-lock.js'
export { FaultyPageStore, type CrashMode, type FaultyPageStoreOptions } from './faulty-page-store.js'
export { PAGE_SIZE, PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, sealPage, readHeader, verifyPage, type PageHeader } from './page-format.js'
export { BLOCK_PTR_SIZE, NULL_PTR, isNullPtr, readBlockPtr, writeBlockPtr, type BlockPtr } from './block-pointer.js'
export { writeNode, type PageIO } from './page-io.js'
export {
  POINTERS_PER_NODE, pointerNodesFor, buildPointerTree, readPointerNode, readPointerTree, lookupPointerTree,
  pointerTreeHeight, updatePointerTree, writePointerNode,
} from './pointer-tree.js'
export {
  MAGIC, FORMAT_MAJOR, FORMAT_MINOR, MAX_SLUG_BYTES, MAX_TITLE_BYTES, encodeMeta, decodeMeta, type Meta, type MetaSlot,
} from './meta-page.js'
export { Pager, SEALED_MAJOR, isSealedMeta, type CommitOptions, type PageSealer, type RecoveryNote } from './pager.js'
export { MemoryPageIO } from './memory-page-io.js'
export { CoalescingPageStore } from './coalescing-page-store.js'
export { ImagePageStore } from './image-page-store.js'
export { readBlob, writeBlob } from './blob-tree.js'
