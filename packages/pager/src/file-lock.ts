import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { CartridgeError, ErrorCodes, toCartridgeError } from '@cartridge/core'
import * as kernelLock from '@cartridge/file-lock'

/**
 * Which single-writer lock a writable store takes.
 * - `'os'`: an exclusive advisory lock on the container file's own descriptor (`flock`, or
 *   `LockFileEx` on Windows). The kernel releases it when the file is closed or the process dies.
 * - `'file'`: the fallback where the native lock is not built: `<file>.lock`, created
 *   exclusively and holding `pid@host`. It is never taken over; a crashed writer leaves it
 *   behind for the user to remove.
 */
export type LockKind = 'os' | 'file'

/** Second line of a fallback lock file; tells it apart from the bare `pid@host` of earlier versions. */
const FALLBACK_NOTE = 'Cartridge writer lock (lock-file fallback). Remove this file only if no process uses the container.'

/**
 * The kind writers take unless told otherwise: `'file'` when the environment variable
 * `CARTRIDGE_LOCK=file` was set as this module loaded, or when the native lock is not built;
 * `'os'` otherwise.
 */
export const defaultLockKind: LockKind = process.env.CARTRIDGE_LOCK === 'file' || !kernelLock.available ? 'file' : 'os'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function lockedByFile(file: string, lockPath: string, text: string): CartridgeError {
  const first = text.split('\n')[0]
  const owner = first ? `process ${first}` : 'a process that had not written its name yet'
  return new CartridgeError(
    ErrorCodes.LOCKED,
    `${file} is locked for writing by ${owner}: the lock file ${lockPath} exists. A writer that crashed leaves it ` +
      `behind; remove it only if no process uses the container.`,
    { path: lockPath },
  )
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** The single-writer lock of one container file, held until {@link FileLock.release}. */
export class FileLock {
  /** Which lock this is. */
  readonly kind: LockKind
  /** `<file>.lock`: the lock file of the `'file'` kind (and where earlier versions kept a pid file). */
  readonly lockPath: string
  readonly #fd: number
  #held = true

  private constructor(kind: LockKind, file: string, fd: number) {
    this.kind = kind
    this.lockPath = file + '.lock'
    this.#fd = fd
  }

  /**
   * Takes the writer lock of `file`, whose open descriptor is `fd`, or throws `CARTRIDGE_LOCKED`
   * (another process, or another open in this one, holds it). Take it before reading anything.
   * With the `'os'` kind the lock lives as long as `fd`: release it before closing `fd`, or just
   * close `fd`.
   */
  static acquire(file: string, fd: number, kind: LockKind = defaultLockKind): FileLock {
    return kind === 'os' ? FileLock.#kernel(file, fd) : FileLock.#file(file)
  }

  static #kernel(file: string, fd: number): FileLock {
    let held: boolean
    try {
      held = kernelLock.tryLock(fd)
    } catch (err) {
      throw toCartridgeError(err, 'lock', file)
    }
    if (!held) {
      throw new CartridgeError(ErrorCodes.LOCKED, `${file} is open for writing by another process (or by another open in this one)`, {
        path: file,
      })
    }
    const lock = new FileLock('os', file, fd)
    const text = readText(lock.lockPath)
    if (text === undefined) return lock
    if (text.includes(FALLBACK_NOTE)) {
      // A process without the native lock writes this container: it cannot see our lock, so yield.
      lock.release()
      throw lockedByFile(file, lock.lockPath, text)
    }
    // An earlier version's pid file does not count any more; remove it once its process is gone.
    const old = /^(\d+)@(.*)$/.exec(text)
    if (old && old[2] === hostname() && !alive(Number(old[1]))) {
      try {
        unlinkSync(lock.lockPath)
      } catch {
        /* gone already */
      }
    }
    return lock
  }

  static #file(file: string): FileLock {
    const lock = new FileLock('file', file, -1)
    let fd: number
    try {
      fd = openSync(lock.lockPath, 'wx')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw lockedByFile(file, lock.lockPath, readText(lock.lockPath) ?? '')
      throw toCartridgeError(err, 'lock', lock.lockPath)
    }
    try {
      writeSync(fd, `${process.pid}@${hostname()}\n${FALLBACK_NOTE}\n`)
    } catch (err) {
      lock.release()
      throw toCartridgeError(err, 'lock', lock.lockPath)
    } finally {
      closeSync(fd)
    }
    return lock
  }

  /** Releases the lock (idempotent). With the `'os'` kind, call it before closing the descriptor. */
  release(): void {
    if (!this.#held) return
    this.#held = false
    try {
      if (this.kind === 'os') kernelLock.unlock(this.#fd)
      else unlinkSync(this.lockPath)
    } catch {
      /* closing the descriptor releases an OS lock; a lock file may be gone already */
    }
  }
}
