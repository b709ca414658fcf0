import type BetterSqlite3 from 'better-sqlite3'

/** A better-sqlite3 connection. */
export type Database = BetterSqlite3.Database

export { SqliteHost, NAME_MARKER } from './sqlite-host.js'
export { DatabaseMount, SPILL_BYTES, type DatabaseMode, type MountHost, type OpenDatabaseOptions } from './database-mount.js'
export { VFS_PAGE_SIZE, isStashed, type DatabaseStore, type FileChange, type FileWrite, type FileDelete, type StashedPage } from './database-store.js'
export { PagedFile } from './paged-file.js'
export { Sqlite, sqliteCodeOf } from './sqlite-codes.js'
export { addonPath, EXTENSION_ENTRY } from './native.js'
export { MemoryDatabaseStore } from './memory-database-store.js'
