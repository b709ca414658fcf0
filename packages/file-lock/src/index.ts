import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { CartridgeError, ErrorCodes } from '@cartridge/core'

interface Addon {
  tryLock(fd: number): boolean
  unlock(fd: number): void
}

function load(): { addon?: Addon; error?: Error } {
  try {
    const require = createRequire(import.meta.url)
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => Addon
    // The package root: one level above src/ (tests) and dist/ (published code) alike.
    return { addon: nodeGypBuild(fileURLToPath(new URL('..', import.meta.url))) }
  } catch (err) {
    return { error: err as Error }
  }
}

const loaded = load()

/** True when the native addon loaded (a prebuilt binary from `prebuilds/`, else `build/Release`). */
export const available: boolean = loaded.addon !== undefined

/** Why the addon did not load, when {@link available} is false. */
export const loadError: Error | undefined = loaded.error

function addon(): Addon {
  if (loaded.addon) return loaded.addon
  throw new CartridgeError(
    ErrorCodes.UNSUPPORTED,
    'the native file lock is not built (a C compiler is needed: run `node-gyp rebuild` in @cartridge/file-lock)',
    { cause: loaded.error },
  )
}

function checkFd(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `not a file descriptor: ${String(fd)}`)
  }
}

/**
 * Tries to take an exclusive lock on the open file `fd`, without waiting. The kernel releases the
 * lock when the descriptor is closed or the process dies, however it dies.
 *
 * On Unix this is `flock(fd, LOCK_EX | LOCK_NB)`: the lock belongs to the open file description,
 * so another `open()` of the same file conflicts even in the same process. It is advisory and
 * independent of `fcntl()` record locks (SQLite's). Calling it again on a descriptor that holds
 * the lock returns `true` on Unix and `false` on Windows; do not rely on either.
 *
 * On Windows it is `LockFileEx` with `LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY` on one
 * byte at offset 0x7FFFFFFF00000000, past any real end of file, so readers are not blocked.
 *
 * @param fd - a descriptor from `fs.openSync` (or `FileHandle.fd`).
 * @returns `true` when `fd` now holds the lock, `false` when another descriptor holds it.
 * @throws `CARTRIDGE_UNSUPPORTED` when the addon is not built, `CARTRIDGE_INVALID_ARGUMENT` when
 *   `fd` is not a descriptor number, and the system error otherwise (`code` such as `EBADF`, or
 *   `ENOLCK` on a file system without locks; `errno` and `syscall` are set as on `fs` errors).
 */
export function tryLock(fd: number): boolean {
  checkFd(fd)
  return addon().tryLock(fd)
}

/**
 * Releases the lock held through `fd`; does nothing when it holds none. Closing the descriptor
 * releases it too, but call this first on Windows, where the release on close may lag.
 *
 * @param fd - the descriptor given to {@link tryLock}. Never call this on a closed descriptor: its
 *   number may already name another file.
 * @throws as {@link tryLock}.
 */
export function unlock(fd: number): void {
  checkFd(fd)
  addon().unlock(fd)
}
