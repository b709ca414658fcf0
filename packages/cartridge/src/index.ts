export {
  Cartridge, validateSlug, type CartridgeInfo, type CreateOptions, type OpenOptions, type ScanOptions, type WriteStreamOptions,
} from './cartridge.js'
export { CartridgeBuilder } from './cartridge-builder.js'
export { Transaction } from './transaction.js'
export type { Data, DirEntry, FileMetadata, ReadOptions } from './file-ops.js'
export type { CheckReport } from './check.js'
export type { CacheFactory, EngineOptions } from './engine.js'
export { CartridgeError, ErrorCodes, directoryPrefix, isCartridgeError, normalizePath, type ErrorCode } from '@cartridge/core'
export { MemoryPageStore, FilePageStore, FaultyPageStore, type PageStore } from '@cartridge/pager'
export { ArcCache, LruCache, type Cache } from '@cartridge/arc-cache'
export type { Database, DatabaseMode, OpenDatabaseOptions } from '@cartridge/vfs'
