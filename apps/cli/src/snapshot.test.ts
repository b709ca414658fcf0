import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { isCartridgeError } from 'cartridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeError, main } from './main.js'
import { capture, runCli, runCliRaw } from './test-io.js'
import { vacuum, vacuumProgress } from './commands/vacuum.js'

let dir: string

/** Runs the CLI in-process in the temp dir. */
const run = (...argv: string[]) => runCli(dir, argv)
/** The non-empty lines of `text`. */
const lines = (text: string) => text.split('\n').filter(Boolean)
const size = (file: string) => statSync(join(dir, file)).size

/** Bytes that do not compress or repeat, `n` of them. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  let x = seed
  for (let i = 0; i < n; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0
    b.writeUInt32LE(x, i)
  }
  return b
}

const MiB = 1024 * 1024
const data = bytes(2 * MiB, 1)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cartridge-cli-snap-'))
  mkdirSync(join(dir, 'v1', 'docs'), { recursive: true })
  writeFileSync(join(dir, 'v1', 'readme.txt'), 'first version\n')
  writeFileSync(join(dir, 'v1', 'docs', 'guide.md'), '# Guide\n')
  writeFileSync(join(dir, 'v1', 'data.bin'), data)
  mkdirSync(join(dir, 'v2', 'notes'), { recursive: true })
  writeFileSync(join(dir, 'v2', 'readme.txt'), 'second version\n')
  writeFileSync(join(dir, 'v2', 'notes', 'new.txt'), 'new\n')
  writeFileSync(join(dir, 'a.bin'), bytes(2 * MiB, 2))
  writeFileSync(join(dir, 'b.bin'), bytes(2 * MiB, 3))
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('cartridge snapshot', () => {
  it('creates snapshots, named and snapshot-<id> by default', async () => {
    expect((await run('create', 'box')).code).toBe(0)
    expect((await run('put', 'box', 'v1/readme.txt', 'v1/docs', 'v1/data.bin', '-q')).code).toBe(0)
    expect(await run('snapshot', 'create', 'box', 'before-cleanup')).toEqual({
      code: 0, stdout: 'created snapshot 1 "before-cleanup" (3 files)\n', stderr: '',
    })
    expect(await run('snapshot', 'create', 'box')).toEqual({ code: 0, stdout: 'created snapshot 2 "snapshot-2" (3 files)\n', stderr: '' })
  })

  it('refuses a duplicate name (CARTRIDGE_EXISTS) and a name of digits (it would read as an id)', async () => {
    const dup = await run('snapshot', 'create', 'box', 'before-cleanup')
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(/^cartridge: .*"before-cleanup".*\(CARTRIDGE_EXISTS\)\n$/)
    const digits = await run('snapshot', 'create', 'box', '42')
    expect(digits.code).toBe(1)
    expect(digits.stderr).toContain('(CARTRIDGE_INVALID_ARGUMENT)')
    expect(lines((await run('snapshot', 'list', 'box')).stdout)).toHaveLength(4) // header, rule, two snapshots
  })

  it('lists snapshots as a table and as JSON', async () => {
    // Change the live state: one file removed, one replaced, one added.
    expect((await run('rm', 'box', '/data.bin')).code).toBe(0)
    expect((await run('put', 'box', 'v2/readme.txt', 'v2/notes', '-q')).code).toBe(0)

    const text = await run('snapshot', 'list', 'box')
    expect(text.code).toBe(0)
    const [header, rule, ...rows] = lines(text.stdout)
    expect(header.split(/\s+/)).toEqual(['id', 'name', 'created', 'files', 'exclusive'])
    expect(rule).toMatch(/^[- ]+$/)
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatch(/^1\s+before-cleanup\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+3\s+\d+(\.\d)? (B|KiB|MiB)$/)
    expect(rows[1]).toMatch(/^2\s+snapshot-2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+3\s+/)

    const json = await run('snapshot', 'list', 'box', '--json')
    expect(json.code).toBe(0)
    const list = JSON.parse(json.stdout)
    expect(list.map((s: { id: number; name: string; fileCount: number }) => [s.id, s.name, s.fileCount])).toEqual([
      [1, 'before-cleanup', 3],
      [2, 'snapshot-2', 3],
    ])
    expect(Date.parse(list[0].created)).toBeGreaterThan(Date.parse('2020-01-01'))
    // Both snapshots keep the same state, so neither holds data.bin alone.
    expect(list.map((s: { exclusiveBytes: number }) => s.exclusiveBytes)).toEqual([0, 0])
  })

  it('ls --snapshot lists the snapshot, with -l and -r, by name or id', async () => {
    expect(lines((await run('ls', 'box')).stdout)).toEqual(['docs/', 'notes/', 'readme.txt'])
    const plain = await run('ls', 'box', '--snapshot', 'before-cleanup')
    expect(plain).toMatchObject({ code: 0, stderr: '' })
    expect(lines(plain.stdout)).toEqual(['data.bin', 'docs/', 'readme.txt'])
    const rec = await run('ls', 'box', '/', '-r', '--snapshot', 'before-cleanup')
    expect(lines(rec.stdout)).toEqual(['/data.bin', '/docs/guide.md', '/readme.txt'])
    expect((await run('ls', 'box', '-r', '--snapshot', '1')).stdout).toBe(rec.stdout)
    const long = await run('ls', 'box', '-l', '--snapshot', '1')
    expect(long.stdout).toMatch(new RegExp(`^\\s*${data.length}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  data\\.bin$`, 'm'))
    expect(long.stdout).toMatch(/^\s*14  .+  readme\.txt$/m) // 'first version\n', not the live one
    const recLong = await run('ls', 'box', '/docs', '-rl', '--snapshot', 'before-cleanup')
    expect(recLong.stdout).toMatch(/^\s+8  .+  \/docs\/guide\.md\n$/)
    expect(lines((await run('ls', 'box', '/data.bin', '--snapshot', 'before-cleanup')).stdout)).toEqual(['/data.bin'])
  })

  it('diffs a snapshot against the live state and against another snapshot', async () => {
    const d = await run('snapshot', 'diff', 'box', 'before-cleanup')
    expect(d).toEqual({ code: 0, stdout: '- /data.bin\n+ /notes/new.txt\nM /readme.txt\n', stderr: '' })
    const json = await run('snapshot', 'diff', 'box', '1', '--json')
    expect(JSON.parse(json.stdout)).toEqual([
      { path: '/data.bin', change: 'removed' },
      { path: '/notes/new.txt', change: 'added' },
      { path: '/readme.txt', change: 'changed' },
    ])
    expect(await run('snapshot', 'diff', 'box', 'before-cleanup', 'snapshot-2')).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it('an unknown snapshot: exit 1 and CARTRIDGE_NOT_FOUND, whatever the command', async () => {
    for (const argv of [
      ['ls', 'box', '--snapshot', 'nope'],
      ['ls', 'box', '-r', '--snapshot', '99'],
      ['snapshot', 'diff', 'box', 'nope'],
      ['snapshot', 'diff', 'box', '1', '99'],
      ['snapshot', 'restore', 'box', 'nope'],
      ['snapshot', 'delete', 'box', '99'],
    ]) {
      const r = await run(...argv)
      expect(r.code, argv.join(' ')).toBe(1)
      expect(r.stderr, argv.join(' ')).toMatch(/^cartridge: no such snapshot: .*\(CARTRIDGE_NOT_FOUND\)\n$/)
    }
    expect((await run('snapshot', 'restore', 'box')).code).toBe(2) // usage error: no <snapshot>
  })

  it('restore brings the files back and can keep the replaced state', async () => {
    const r = await run('snapshot', 'restore', 'box', 'before-cleanup', '--save-current-as', 'after-cleanup')
    expect(r).toEqual({
      code: 0,
      stdout: 'saved the replaced state as snapshot "after-cleanup"\nrestored snapshot 1 "before-cleanup" (3 files)\n',
      stderr: '',
    })
    expect((await run('cat', 'box', '/readme.txt')).stdout).toBe('first version\n')
    const got = await runCliRaw(dir, ['get', 'box', '/data.bin'])
    expect(got.code).toBe(0)
    expect(got.bytes.equals(data)).toBe(true)
    expect(lines((await run('ls', 'box', '-r')).stdout)).toEqual(['/data.bin', '/docs/guide.md', '/readme.txt'])
    // The replaced state is a snapshot now: restoring it would undo the restore.
    expect((await run('snapshot', 'diff', 'box', 'after-cleanup')).stdout).toBe('+ /data.bin\n- /notes/new.txt\nM /readme.txt\n')
    expect(lines((await run('snapshot', 'list', 'box')).stdout).slice(2).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['1', 'before-cleanup'],
      ['2', 'snapshot-2'],
      ['3', 'after-cleanup'],
    ])
  })

  it('delete prints what it freed; the last delete leaves an empty list', async () => {
    // snapshot-2 keeps what before-cleanup keeps: deleting it frees nothing.
    expect(await run('snapshot', 'delete', 'box', 'snapshot-2')).toEqual({ code: 0, stdout: 'deleted snapshot snapshot-2: freed 0 B\n', stderr: '' })
    expect((await run('snapshot', 'delete', 'box', 'after-cleanup')).stdout).toMatch(/^deleted snapshot after-cleanup: freed \d/)
    // Once data.bin is gone from the live state, only snapshot 1 holds it.
    expect((await run('rm', 'box', '/data.bin')).code).toBe(0)
    const [only] = JSON.parse((await run('snapshot', 'list', 'box', '--json')).stdout)
    expect(only).toMatchObject({ id: 1, name: 'before-cleanup' })
    expect(only.exclusiveBytes).toBeGreaterThanOrEqual(data.length)

    const info = await run('info', 'box')
    expect(info.stdout).toMatch(/^snapshots:\s+1$/m)

    const del = await run('snapshot', 'delete', 'box', '1')
    expect(del.code).toBe(0)
    expect(del.stdout).toMatch(/^deleted snapshot 1: freed 2\.\d MiB \(cartridge vacuum gives it back to the file system\)\n$/)
    expect(await run('snapshot', 'list', 'box')).toEqual({ code: 0, stdout: 'no snapshots\n', stderr: '' })
    expect(JSON.parse((await run('snapshot', 'list', 'box', '--json')).stdout)).toEqual([])
    expect((await run('check', 'box', '--data')).code).toBe(0)
  })

  it('info shows the snapshots and what a vacuum would reclaim', async () => {
    const text = await run('info', 'box')
    expect(text.stdout).toMatch(/^snapshots:\s+0$/m)
    expect(text.stdout).toMatch(/^reclaimable:\s+2\.\d MiB \(cartridge vacuum\)$/m)
    const i = JSON.parse((await run('info', 'box', '--json')).stdout)
    expect(i.snapshots).toBe(0)
    expect(i.reclaimableBytes).toBeGreaterThanOrEqual(data.length)
    expect(i.sizeBytes).toBe(size('box.cart'))
  })

  it('vacuum shrinks the file and prints sizes before and after', async () => {
    const before = size('box.cart')
    const r = await run('vacuum', 'box')
    expect(r).toMatchObject({ code: 0, stderr: '' }) // no bar off a terminal
    const after = size('box.cart')
    expect(after).toBeLessThanOrEqual(before - data.length)
    const [sizes, reclaimed] = lines(r.stdout)
    expect(sizes).toMatch(/^size: 2\.\d MiB → \d+\.\d KiB$/)
    expect(reclaimed).toMatch(/^reclaimed 2\.\d MiB \(moved \d+ blocks?, in \d+ commits?\)$/)

    const again = JSON.parse((await run('vacuum', 'box', '--json')).stdout)
    expect(again).toMatchObject({ bytesBefore: after, bytesAfter: after, reclaimedBytes: 0, movedPages: 0 })
    expect(await run('cat', 'box', '/readme.txt', '/docs/guide.md')).toMatchObject({ code: 0, stdout: 'first version\n# Guide\n' })
    expect((await run('check', 'box', '--data')).code).toBe(0)
  })

  it('vacuum draws a progress bar on a terminal and leaves no SIGINT listener', async () => {
    expect((await run('create', 'moves')).code).toBe(0)
    expect((await run('put', 'moves', 'a.bin', '-q')).code).toBe(0)
    expect((await run('put', 'moves', 'b.bin', '-q')).code).toBe(0)
    expect((await run('rm', 'moves', '/a.bin')).code).toBe(0) // b.bin now lies past where everything fits: it moves
    const listeners = process.listenerCount('SIGINT')
    const out = capture()
    const err = capture(true)
    const code = await main(['vacuum', 'moves'], { stdout: out.stream, stderr: err.stream, cwd: dir })
    expect(code).toBe(0)
    expect(process.listenerCount('SIGINT')).toBe(listeners)
    expect(err.text()).toMatch(/^\r\[-+\]    0%  0 B \/ 2\.\d MiB .*\r\[#+\]  100%  2\.\d MiB \/ 2\.\d MiB .*\n$/s)
    expect(out.text()).toMatch(/^size: [\d.]+ MiB → 2\.\d MiB\nreclaimed [\d.]+ MiB \(moved [1-9]\d* blocks, in \d+ commits\)\n$/)
    expect(size('moves.cart')).toBeLessThan(3 * MiB)
  })

  it('an aborted vacuum keeps what it moved, says so, and the next vacuum goes on', async () => {
    expect((await run('put', 'moves', 'a.bin', '--to', '/again', '-q')).code).toBe(0)
    expect((await run('rm', 'moves', '/b.bin')).code).toBe(0)
    const before = size('moves.cart')

    const already = new AbortController()
    already.abort()
    const quiet = { stdout: capture().stream, stderr: capture().stream, cwd: dir }
    const first = await vacuum(quiet, 'moves', {}, already.signal).catch((e: unknown) => e)
    expect(isCartridgeError(first, 'CARTRIDGE_ABORTED')).toBe(true)
    expect(describeError(first)).toBe(
      'vacuum interrupted after moving 0 blocks: what was moved stays committed; run cartridge vacuum again to continue (CARTRIDGE_ABORTED)',
    )

    // Abort as the bar first draws: that is after the first step of moving has committed.
    const controller = new AbortController()
    let drawn = ''
    const stderr = Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          drawn += String(chunk)
          controller.abort()
          cb()
        },
      }),
      { isTTY: true, columns: 100 },
    )
    const listeners = process.listenerCount('SIGINT')
    const err = await vacuum({ stdout: capture().stream, stderr, cwd: dir }, 'moves', {}, controller.signal).catch((e: unknown) => e)
    expect(process.listenerCount('SIGINT')).toBe(listeners) // a given signal: no listener of its own
    expect(isCartridgeError(err, 'CARTRIDGE_ABORTED')).toBe(true)
    expect(describeError(err)).toMatch(/^vacuum interrupted after moving [1-9]\d* blocks: what was moved stays committed; run cartridge vacuum again to continue/)
    expect(drawn.endsWith('\n')).toBe(true) // the bar's line is ended before the error is printed
    expect(size('moves.cart')).toBe(before) // moved, not yet truncated
    expect((await run('check', 'moves', '--data')).code).toBe(0)

    const rest = JSON.parse((await run('vacuum', 'moves', '--json')).stdout)
    expect(rest.bytesBefore).toBe(before)
    expect(rest.bytesAfter).toBe(size('moves.cart'))
    expect(rest.reclaimedBytes).toBeGreaterThanOrEqual(2 * MiB)
    expect((await run('check', 'moves', '--data')).code).toBe(0)
  })

  it('the vacuum bar clamps moved blocks to the total, and draws nothing when nothing moves', () => {
    const err = capture(true)
    const view = vacuumProgress({ stdout: capture().stream, stderr: err.stream, cwd: dir })
    view.onProgress({ phase: 'sweep', movedPages: 0, pagesToMove: 0, totalPages: 1000 })
    expect(err.text()).toBe('') // the sweep does not know the total yet
    view.onProgress({ phase: 'move', movedPages: 200, pagesToMove: 300, totalPages: 1000 })
    view.onProgress({ phase: 'move', movedPages: 450, pagesToMove: 300, totalPages: 1000 }) // a later round moved more
    view.finish()
    const draws = err.text().split('\r').filter(Boolean)
    expect(draws[0]).toMatch(/^\[-+\]    0%  0 B \/ 1\.2 MiB/)
    expect(draws[draws.length - 1]).toMatch(/^\[#+\]  100%  1\.2 MiB \/ 1\.2 MiB .*\n$/)

    const none = capture(true)
    const idle = vacuumProgress({ stdout: capture().stream, stderr: none.stream, cwd: dir })
    idle.onProgress({ phase: 'truncate', movedPages: 5, pagesToMove: 0, totalPages: 10 })
    idle.finish()
    expect(none.text()).toBe('')
  })
})
