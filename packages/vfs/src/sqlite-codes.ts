import { CartridgeError, ErrorCodes } from '@cartridge/core'

/** SQLite result codes and flags the VFS uses (sqlite3.h). */
export const Sqlite = {
  OK: 0,
  ERROR: 1,
  BUSY: 5,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  IOERR_READ: 266,
  IOERR_WRITE: 778,
  IOERR_FSYNC: 1034,
  IOERR_TRUNCATE: 1546,
  IOERR_DELETE: 2570,
  IOERR_DELETE_NOENT: 5898,
  OPEN_READONLY: 0x1,
  OPEN_CREATE: 0x4,
  OPEN_DELETEONCLOSE: 0x8,
  OPEN_MAIN_DB: 0x100,
} as const

/** The SQLite code for an error raised by the store (`fallback` for anything unexpected). */
export function sqliteCodeOf(err: unknown, fallback: number): number {
  if (!(err instanceof CartridgeError)) return fallback
  switch (err.code) {
    case ErrorCodes.FULL:
      return Sqlite.FULL
    case ErrorCodes.LOCKED:
    case ErrorCodes.CONFLICT:
      return Sqlite.BUSY
    case ErrorCodes.READ_ONLY:
      return Sqlite.READONLY
    case ErrorCodes.CHECKSUM:
    case ErrorCodes.CORRUPT:
      return Sqlite.CORRUPT
    case ErrorCodes.NOT_FOUND:
    case ErrorCodes.IS_A_DIRECTORY:
    case ErrorCodes.NOT_A_DIRECTORY:
    case ErrorCodes.INVALID_PATH:
      return Sqlite.CANTOPEN
    default:
      return fallback
  }
}
