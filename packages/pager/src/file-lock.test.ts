import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { FilePageStore } from './file-page-store.js'
import { defaultLockKind } from './file-lock.js'

const dir = mkdtempSync(join(tmpdir(), 'pager-lock-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = (name: string) => join(dir, `${n++}-${name}`)
const locked = expect.objectContaining({ code: 'CARTRIDGE_LOCKED' })

/** A pid that ran on this host and is gone: a child that has exited (and was reaped). */
function deadPid(): number {
  return Number(execFileSync(process.execPath, ['-p', 'process.pid'], { encoding: 'utf8' }))
}

describe('writer lock, OS kind', () => {
  it('is the default where the addon is built', () => {
    expect(defaultLockKind).toBe('os')
  })

  it('create takes the lock; a second writer in this process is refused, readers are not; close releases it', () => {
    const f = fresh('a.bin')
    const a = FilePageStore.open(f, { create: true })
    expect(() => FilePageStore.open(f)).toThrow(locked)
    expect(() => FilePageStore.open(f)).toThrow(/open for writing by another process/)
    const r = FilePageStore.open(f, { readOnly: true })
    r.close()
    expect(() => FilePageStore.open(f)).toThrow(locked)
    a.close()
    const b = FilePageStore.open(f)
    expect(() => FilePageStore.open(f)).toThrow(locked)
    b.close()
    FilePageStore.open(f).close()
    expect(existsSync(f + '.lock')).toBe(false)
  })

  it('a failed open leaves no lock behind', () => {
    const f = fresh('b.bin')
    FilePageStore.open(f, { create: true }).close()
    expect(() => FilePageStore.open(f, { create: true })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_EXISTS' }))
    expect(() => FilePageStore.open(f + '.missing')).toThrow(expect.objectContaining({ code: 'CARTRIDGE_NOT_FOUND' }))
    FilePageStore.open(f).close()
  })

  it('a pid file left by an earlier version does not block: removed when its process is gone, ignored otherwise', () => {
    const f = fresh('c.bin')
    FilePageStore.open(f, { create: true }).close()
    writeFileSync(f + '.lock', `${deadPid()}@${hostname()}`)
    FilePageStore.open(f).close()
    expect(existsSync(f + '.lock')).toBe(false)
    for (const leftover of ['', `${process.pid}@${hostname()}`, `1@another-host`]) {
      writeFileSync(f + '.lock', leftover)
      FilePageStore.open(f).close()
      expect(readFileSync(f + '.lock', 'utf8')).toBe(leftover)
    }
  })

  it('yields to a writer that holds the lock-file fallback', () => {
    const f = fresh('d.bin')
    FilePageStore.open(f, { create: true }).close()
    const fallback = FilePageStore.open(f, { lock: 'file' })
    expect(() => FilePageStore.open(f, { lock: 'os' })).toThrow(locked)
    fallback.close()
    FilePageStore.open(f, { lock: 'os' }).close()
  })
})

describe('writer lock, lock-file fallback', () => {
  it('holds <file>.lock with pid@host while open and removes it on close', () => {
    const f = fresh('e.bin')
    const a = FilePageStore.open(f, { create: true, lock: 'file' })
    expect(readFileSync(f + '.lock', 'utf8').split('\n')[0]).toBe(`${process.pid}@${hostname()}`)
    expect(() => FilePageStore.open(f, { lock: 'file' })).toThrow(locked)
    FilePageStore.open(f, { readOnly: true, lock: 'file' }).close()
    a.close()
    expect(existsSync(f + '.lock')).toBe(false)
    FilePageStore.open(f, { lock: 'file' }).close()
  })

  it('never takes over a lock, even one of a dead process; the error names the file to remove', () => {
    const f = fresh('f.bin')
    FilePageStore.open(f, { create: true, lock: 'file' }).close()
    for (const leftover of [`${deadPid()}@${hostname()}\n`, '']) {
      writeFileSync(f + '.lock', leftover)
      let error: Error | undefined
      try {
        FilePageStore.open(f, { lock: 'file' }).close()
      } catch (err) {
        error = err as Error
      }
      expect(error).toMatchObject({ code: 'CARTRIDGE_LOCKED', path: f + '.lock' })
      expect(error!.message).toContain(`remove it only if no process uses the container`)
      expect(error!.message).toContain(f + '.lock')
    }
    rmSync(f + '.lock')
    FilePageStore.open(f, { lock: 'file' }).close()
  })

  it('create refused by a leftover lock removes the file it created', () => {
    const f = fresh('g.bin')
    writeFileSync(f + '.lock', '')
    expect(() => FilePageStore.open(f, { create: true, lock: 'file' })).toThrow(locked)
    expect(existsSync(f)).toBe(false)
  })

  it('CARTRIDGE_LOCK=file selects it, read once as the module loads', async () => {
    vi.stubEnv('CARTRIDGE_LOCK', 'file')
    vi.resetModules()
    try {
      const lockModule = await import('./file-lock.js')
      expect(lockModule.defaultLockKind).toBe('file')
    } finally {
      vi.unstubAllEnvs()
      vi.resetModules()
    }
  })
})

describe('only regular files are opened', () => {
  let unblocker: ChildProcess | undefined
  afterEach(() => {
    unblocker?.kill('SIGKILL')
    unblocker = undefined
  })
  const notRegular = expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT', message: expect.stringContaining('not a regular file') })

  it.skipIf(process.platform === 'win32')('a FIFO is refused at once, for writing and for reading', () => {
    const fifo = fresh('fifo')
    execFileSync('mkfifo', [fifo])
    // Should an open ever wait on the FIFO, this writer frees it after a while, so the test fails instead of hanging.
    unblocker = spawn('sh', ['-c', `sleep 3; head -c 65536 /dev/zero > '${fifo}'`], { stdio: 'ignore' })
    const start = performance.now()
    expect(() => FilePageStore.open(fifo)).toThrow(notRegular)
    expect(() => FilePageStore.open(fifo, { readOnly: true })).toThrow(notRegular)
    expect(performance.now() - start).toBeLessThan(1000)
  })

  it('a directory and a device are refused', () => {
    const d = fresh('dir')
    mkdirSync(d)
    const directory = expect.objectContaining({ code: 'CARTRIDGE_IS_A_DIRECTORY', message: expect.stringContaining('is a directory') })
    expect(() => FilePageStore.open(d)).toThrow(directory)
    expect(() => FilePageStore.open(d, { readOnly: true })).toThrow(directory)
    if (existsSync('/dev/null')) expect(() => FilePageStore.open('/dev/null', { readOnly: true })).toThrow(notRegular)
  })
})
