// Counting sync-family system calls of a workload run in a child process under strace.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { round, tempDir } from './harness.mjs'

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

/**
 * Sync-family calls per commit of each implementation, counted by strace in child processes:
 * (calls(commits) − calls(0)) / commits. Files them as `suite.extra.syncCallsPerCommit` and
 * as a note; both say "n/a" when strace is not available.
 * @param {import('./harness.mjs').Suite} suite
 * @param {string} script run as `script --child <impl> <count> <dir>`
 * @param {string[]} implNames
 * @param {number} commits
 * @param {{commit?: string, detail?: string}} [label] what one commit is (`commit of 100 inserts`),
 *   and what the count includes besides (`, WAL checkpoints included`)
 */
export function syncCallsPerCommit(suite, script, implNames, commits, label = {}) {
  if (!hasStrace()) {
    suite.extra.syncCallsPerCommit = 'n/a (strace not available)'
    suite.note('sync calls per commit: n/a (strace not available)')
    return
  }
  /** @type {Record<string, Record<string, number>>} */
  const perCommit = {}
  for (const name of implNames) perCommit[name] = callsPerCommit(straceCount(script, name, 0), straceCount(script, name, commits), commits)
  suite.extra.syncCallsPerCommit = perCommit
  const calls = Object.entries(perCommit).map(([k, v]) => `${k} ${v.total} (${SYNC_CALLS.filter((c) => v[c]).map((c) => `${c} ${v[c]}`).join(', ') || 'none'})`)
  suite.note(`sync calls per ${label.commit ?? 'commit'} (strace -f -c, (calls(${commits}) − calls(0)) / ${commits}${label.detail ?? ''}): ${calls.join('; ')}`)
}

/**
 * Per-commit difference between two strace counts, per call and in total.
 * @param {Record<string, number>} base @param {Record<string, number>} full @param {number} commits
 */
function callsPerCommit(base, full, commits) {
  /** @type {Record<string, number>} */
  const out = Object.fromEntries(SYNC_CALLS.map((c) => [c, round(((full[c] ?? 0) - (base[c] ?? 0)) / commits, 3)]))
  out.total = round(SYNC_CALLS.reduce((s, c) => s + (full[c] ?? 0) - (base[c] ?? 0), 0) / commits, 3)
  return out
}
