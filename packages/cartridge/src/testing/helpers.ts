import { spawn } from 'node:child_process'
import { mixedBytes, seededRandom } from '@cartridge/core'
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Cartridge } from '../cartridge.js'

/** Deterministic PRNG, returns [0, 1). */
export const rng = seededRandom

/**
 * Bytes derived from a seed, so content can be re-derived for checking. Stretches of about
 * 20 KB alternate, by seed, between noise, low-entropy bytes and runs of one byte, so a
 * compressing container stores some chunks compressed, some raw, and packs runs of both.
 */
export const bytes = mixedBytes

/** Flips bits of the byte at `offset` of the file at `path`, in place (damage for tests). */
export function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+')
  const b = Buffer.alloc(1)
  readSync(fd, b, 0, 1, offset)
  b[0] ^= 0x5a
  writeSync(fd, b, 0, 1, offset)
  closeSync(fd)
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'cart-'): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Every file of a container with its content. */
export async function readAll(cart: Cartridge): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>()
  for (const p of await cart.list('/')) out.set(p, await cart.read(p))
  return out
}

/** Whether two path → bytes maps hold the same files and bytes. */
export function sameFiles(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) {
    const w = b.get(k)
    if (!w || w.length !== v.length) return false
    for (let i = 0; i < v.length; i++) if (v[i] !== w[i]) return false
  }
  return true
}

/** Byte equality without a deep, element-by-element matcher (those are slow on megabytes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0
}

/**
 * Runs `node <args>` until it printed an `ack <n>` line with n ≥ `minAck`, waits `delayMs`, then
 * SIGKILLs it. Resolves with the last acknowledged n (`start - 1` if none); rejects if the child
 * exits on its own.
 */
export function runUntilKilled(args: string[], start: number, minAck: number, delayMs: number, env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env })
    let last = start - 1
    let buf = ''
    let err = ''
    let armed = false
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop()!
      for (const l of lines) if (l.startsWith('ack ')) last = Number(l.slice(4))
      if (!armed && last >= minAck) {
        armed = true
        setTimeout(() => p.kill('SIGKILL'), delayMs)
      }
    })
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`child exited with ${code}: ${err}`))))
  })
}
