import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { CartridgeError, ErrorCodes } from '@cartridge/core'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Single-writer lock: a `<file>.lock` beside the container, created exclusively and holding
 * `pid@host`. A lock left by a process that no longer runs on this host is taken over.
 */
export class FileLock {
  readonly lockPath: string
  #held = false

  private constructor(lockPath: string) {
    this.lockPath = lockPath
  }

  /** Takes the lock for `file` or throws `CARTRIDGE_LOCKED`. */
  static acquire(file: string): FileLock {
    const lock = new FileLock(file + '.lock')
    lock.#take(true)
    return lock
  }

  #take(retry: boolean): void {
    const me = `${process.pid}@${hostname()}`
    try {
      const fd = openSync(this.lockPath, 'wx')
      try {
        writeSync(fd, me)
      } finally {
        closeSync(fd)
      }
      this.#held = true
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let owner = ''
    try {
      owner = readFileSync(this.lockPath, 'utf8')
    } catch {
      if (retry) return this.#take(false)
    }
    const [pidText, host] = owner.split('@')
    const pid = Number(pidText)
    const stale = host === hostname() && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)
    if (stale && retry) {
      // Move the stale lock aside atomically so two processes cannot both take it over.
      const aside = `${this.lockPath}.${process.pid}.stale`
      try {
        renameSync(this.lockPath, aside)
        unlinkSync(aside)
      } catch {
        /* another process took it over first */
      }
      return this.#take(false)
    }
    throw new CartridgeError(ErrorCodes.LOCKED, `container is open for writing by another process (${owner || 'unknown'})`, {
      path: this.lockPath,
    })
  }

  /** Releases the lock (idempotent). */
  release(): void {
    if (!this.#held) return
    this.#held = false
    try {
      unlinkSync(this.lockPath)
    } catch {
      /* already gone */
    }
  }
}
