import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { available, loadError, tryLock, unlock } from './index.js'

const dir = mkdtempSync(join(tmpdir(), 'file-lock-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const packageDir = fileURLToPath(new URL('..', import.meta.url))

function file(name: string): string {
  const path = join(dir, name)
  writeFileSync(path, 'x')
  return path
}

describe('@cartridge/file-lock', () => {
  it('is built', () => {
    expect(loadError?.message).toBeUndefined()
    expect(available).toBe(true)
  })

  it('one open file description holds the lock; another open of the file, even in this process, is refused', () => {
    const path = file('two-opens')
    const a = openSync(path, 'r+')
    const b = openSync(path, 'r')
    try {
      expect(tryLock(a)).toBe(true)
      expect(tryLock(b)).toBe(false)
      unlock(a)
      expect(tryLock(b)).toBe(true)
      expect(tryLock(a)).toBe(false)
    } finally {
      closeSync(a)
      closeSync(b)
    }
  })

  it('closing the descriptor releases the lock', () => {
    const path = file('close')
    const a = openSync(path, 'r+')
    expect(tryLock(a)).toBe(true)
    closeSync(a)
    const b = openSync(path, 'r+')
    expect(tryLock(b)).toBe(true)
    closeSync(b)
  })

  it('unlock without a lock does nothing', () => {
    const fd = openSync(file('unlocked'), 'r')
    unlock(fd)
    unlock(fd)
    closeSync(fd)
  })

  it('throws coded errors for a closed descriptor and for a non-descriptor', () => {
    const fd = openSync(file('closed'), 'r')
    closeSync(fd)
    expect(() => tryLock(fd)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: expect.any(String) }))
    expect(() => tryLock(-1)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(() => unlock(1.5)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
  })

  it('the kernel releases the lock of a process killed with SIGKILL', async () => {
    const path = file('killed')
    const holder = `
      const fs = require('node:fs')
      const lock = require(${JSON.stringify(join(packageDir, 'node_modules', 'node-gyp-build'))})(${JSON.stringify(packageDir)})
      const fd = fs.openSync(${JSON.stringify(path)}, 'r+')
      process.stdout.write(lock.tryLock(fd) ? 'held\\n' : 'refused\\n')
      setInterval(() => {}, 1000)
    `
    const child = spawn(process.execPath, ['-e', holder], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const line = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())))
    expect(line).toBe('held')
    const fd = openSync(path, 'r+')
    try {
      expect(tryLock(fd)).toBe(false)
      child.kill('SIGKILL')
      await exited
      expect(tryLock(fd)).toBe(true)
    } finally {
      closeSync(fd)
    }
  })
})
