export { Cartridge } from './cartridge.js'
export { defaultStore, validateSlug, type CartridgeInfo, type CreateOptions, type OpenOptions, type ScanOptions, type StoreFactory, type WriteStreamOptions } from './cartridge-options.js'
export { CartridgeBuilder } from './cartridge-builder.js'
export { Transaction } from './transaction.js'
export type { Data, DirEntry, FileMetadata, ReadOptions, WriteOptions } from './file-ops.js'
export type { CheckReport } from '@cartridge/engine'
export type { CacheFactory, CompressionSetting, EngineOptions } from '@cartridge/engine'
export type { ContentStats } from '@cartridge/engine'
export { aesGcm, type CipherSetting, type EncryptionSetting, type KeyOptions } from '@cartridge/engine'
export type { ResealOptions } from './reseal-file.js'
export type { FreezeOptions } from './freeze.js'
export {
  Engram, formatPublicKey, formatSecretKey, generateSigningKey, keyId, parsePublicKey, parseSecretKey,
  type EngramManifest, type EngramReport, type EngramSummary, type SigningKeyPair,
} from '@cartridge/engram'
export { NobleAead, NodeAead, type Aead } from '@cartridge/crypto'
export type { ResealProgress } from './reseal.js'
export { APPLICATION_CODEC_IDS, lz4, zstd, type Codec, type CodecName, type CodecOptions } from '@cartridge/codec'
export { CartridgeError, ErrorCodes, directoryPrefix, isCartridgeError, normalizePath, normalizeFilePath, type ErrorCode } from '@cartridge/core'
export { MemoryPageStore, FilePageStore, FaultyPageStore, ImagePageStore, type PageStore, type RecoveryNote } from '@cartridge/pager'
export { ArcCache, LruCache, type Cache } from '@cartridge/arc-cache'
export { BTreeCatalog, btreeCatalog, prefixCatalog, type Catalog, type CatalogFactory } from '@cartridge/catalog'
export { BitmapAllocator, bitmapAllocator, type Allocator, type AllocatorFactory } from '@cartridge/allocator'
export type { Database, DatabaseMode, OpenDatabaseOptions } from '@cartridge/vfs'
export type { RecompressOptions, RecompressResult, RestoreOptions, SnapshotInfo, SnapshotListing, TransactionOptions } from './cartridge-options.js'
export { SnapshotView } from './snapshot-view.js'
export type { SnapshotChange } from './snapshot-diff.js'
export type { VacuumOptions, VacuumProgress, VacuumResult } from '@cartridge/engine'
export {
  checkpointText, verifyAuditCheckpoint, verifyAuditConsistency, verifyAuditInclusion,
  type AuditCheckpoint, type AuditConsistencyProof, type AuditHead, type AuditInclusionProof, type AuditProblem, type AuditQuery,
  type AuditReport, type AuditStatus, type VerifyAuditOptions,
} from './audit-api.js'
export { verifyAuditArchive, type AuditArchiveReport, type RotateAuditOptions, type RotateAuditResult } from './audit-rotate.js'
export { decodeAuditEntry, type AuditEntry } from '@cartridge/audit'
export * from '@cartridge/iam'
export { AccessDeniedError } from '@cartridge/core'
