// Counting sync-family system calls of a workload run in a child process under strace.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { tempDir } from './harness.mjs'

/** The system calls that make writes durable. */
export const SYNC_CALLS = ['fsync', 'fdatasync', 'msync', 'sync_file_range']

/** Whether strace can run here. */
export function hasStrace() {
  return spawnSync('strace', ['-V'], { encoding: 'utf8' }).status === 0
}

/**
 * Runs `script --child <impl> <count> <dir>` under `strace -f -c` and returns the calls per
 * traced system call.
 * @param {string} script @param {string} impl @param {number} count
 * @returns {Record<string, number>}
 */
export function straceCount(script, impl, count) {
  const t = tempDir(`strace-${impl}`)
  try {
    const out = t.path('strace.txt')
    execFileSync('strace', ['-f', '-c', '-o', out, '-e', `trace=${SYNC_CALLS.join(',')}`, process.execPath, script, '--child', impl, String(count), t.dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    /** @type {Record<string, number>} */
    const calls = {}
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/)
      if (f.length >= 5 && SYNC_CALLS.includes(f[f.length - 1])) calls[f[f.length - 1]] = Number(f[3])
    }
    return calls
  } finally {
    t.dispose()
  }
}
