import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { sameBytes, tempDir } from './testing/helpers.js'

// Several processes open one container for writing at the same moment, each round right after
// its last writer was killed with SIGKILL and beside a pid file an earlier version would have left.
// Every racer that gets the lock proves it is alone by creating a marker file exclusively while it
// holds the lock; losers must see CARTRIDGE_LOCKED and retry until they get their turn.

const tmp = tempDir('lock-race-')
afterAll(() => tmp.cleanup())
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))
const built = existsSync(dist)
const ROUNDS = Number(process.env.CARTRIDGE_LOCK_RACE_ROUNDS ?? 40)
const RACERS = 8
const FALLBACK_ROUNDS = Math.ceil(ROUNDS / 4)
const FILES_PER_TURN = 3

/** The bytes written to `path`: small and varied, derived from the path alone. */
function content(path: string): Uint8Array {
  let h = 2166136261
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 16777619) >>> 0
  const out = new Uint8Array(16 + (h % 3000))
  for (let i = 0; i < out.length; i++) out[i] = (h >>> (i % 24)) + i * 13
  return out
}

// One script for both roles, run as plain ESM against the built package.
// victim: on "go <r>", opens the container and writes until it is killed.
// racer <c>: on "round <r> <at>", waits until time <at>, opens (retrying on CARTRIDGE_LOCKED),
// writes its files, closes.
const childScript = `
import { openSync, closeSync, existsSync, unlinkSync } from 'node:fs'
import { createInterface } from 'node:readline'
const { Cartridge } = await import(process.env.RACE_DIST)
const [role, id, path, marker] = process.argv.slice(1)
const content = ${content.toString()}
const say = (line) => process.stdout.write(line + '\\n')
for await (const line of createInterface({ input: process.stdin })) {
  const [what, round] = line.split(' ')
  if (role === 'victim' && what === 'go') {
    const cart = await Cartridge.open(path, { durability: 'full' })
    for (let i = 0; ; i++) {
      const p = '/victim/' + round + '/' + i
      await cart.write(p, content(p))
      say('ack ' + p)
    }
  }
  if (role === 'racer' && what === 'round') {
    // The barrier: every racer wakes at the same wall-clock millisecond.
    const at = Number(line.split(' ')[2])
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())))
    let cart
    let refused = 0
    while (!cart) {
      try {
        cart = await Cartridge.open(path, { durability: 'full' })
      } catch (err) {
        if (err.code !== 'CARTRIDGE_LOCKED') { say('error ' + err.code + ' ' + err.message); process.exit(1) }
        refused++
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
      }
    }
    const lockFile = existsSync(path + '.lock') ? 1 : 0
    let alone = true
    try {
      closeSync(openSync(marker, 'wx'))
    } catch {
      alone = false
      say('overlap ' + round + ' ' + id)
    }
    for (let i = 0; i < ${FILES_PER_TURN}; i++) {
      const p = '/r' + round + '/c' + id + '/' + i
      await cart.write(p, content(p))
      say('ack ' + p)
    }
    if (alone) unlinkSync(marker)
    await cart.close()
    say('done ' + round + ' ' + refused + ' ' + lockFile)
  }
}
`

interface Child {
  proc: ChildProcessWithoutNullStreams
  lines: string[]
  waiters: { match: (line: string) => boolean; resolve: (line: string) => void; reject: (err: Error) => void }[]
  stderr: string
  exited: Promise<void>
  exit?: string
}

function start(args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', childScript, ...args], {
    env: { ...process.env, ...env, RACE_DIST: pathToFileURL(dist).href },
  })
  const child: Child = { proc, lines: [], waiters: [], stderr: '', exited: new Promise((resolve) => proc.once('exit', () => resolve())) }
  let buf = ''
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString()
    const lines = buf.split('\n')
    buf = lines.pop()!
    for (const line of lines) {
      child.lines.push(line)
      child.waiters = child.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true))
    }
  })
  proc.stderr.on('data', (d: Buffer) => (child.stderr += d.toString()))
  proc.once('exit', (code, signal) => {
    child.exit = `child exited (${code ?? signal}): ${child.stderr || child.lines.at(-1)}`
    for (const w of child.waiters) w.reject(new Error(child.exit))
    child.waiters = []
  })
  return child
}

/** Resolves with the first line (from now on) that matches; rejects if the child exits first. */
function waitFor(child: Child, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    if (child.exit) reject(new Error(child.exit))
    else child.waiters.push({ match, resolve, reject })
  })
}

/**
 * Runs `rounds` rounds of {@link RACERS} racers against one container, then checks it. With
 * `killWriter`, each round starts right after a writer was SIGKILLed while holding the container,
 * beside the `<file>.lock` pid file an earlier version would have left for it.
 */
async function race(name: string, rounds: number, options: { killWriter: boolean; env?: Record<string, string> }): Promise<void> {
  const path = tmp.path(`${name}.cart`)
  const marker = tmp.path(`${name}.marker`)
  await (await Cartridge.create('race', 'Race', { path })).close()
  const racers = Array.from({ length: RACERS }, (_, c) => start(['racer', String(c), path, marker], options.env))
  const acknowledged: string[] = []
  let refusals = 0
  const lockFileSeen = new Set<string>()
  let victim = options.killWriter ? start(['victim', '', path, marker], options.env) : undefined
  let finished = false
  try {
    for (let round = 0; round < rounds; round++) {
      if (victim) {
        // Spawning takes a while: the next round's victim starts now.
        const dying = victim
        victim = start(['victim', '', path, marker], options.env)
        const firstAck = waitFor(dying, (l) => l.startsWith('ack '))
        dying.proc.stdin.write(`go ${round}\n`)
        await firstAck
        dying.proc.kill('SIGKILL')
        await dying.exited
        for (const l of dying.lines) if (l.startsWith('ack ')) acknowledged.push(l.slice(4))
        writeFileSync(`${path}.lock`, `${dying.proc.pid}@${hostname()}`)
      }
      const done = racers.map((r) => waitFor(r, (l) => l.startsWith(`done ${round} `)))
      const at = Date.now() + 10
      for (const r of racers) r.proc.stdin.write(`round ${round} ${at}\n`)
      for (const line of await Promise.all(done)) {
        refusals += Number(line.split(' ')[2])
        lockFileSeen.add(line.split(' ')[3])
      }
    }
    finished = true
  } finally {
    for (const r of racers) (finished ? r.proc.stdin.end() : r.proc.kill('SIGKILL'))
    victim?.proc.kill('SIGKILL')
    await Promise.all([...(victim ? [victim] : []), ...racers].map((r) => r.exited))
  }

  const lines = racers.flatMap((r) => r.lines)
  expect(lines.filter((l) => l.startsWith('overlap ') || l.startsWith('error ')), 'two holders at once, or an error other than CARTRIDGE_LOCKED').toEqual([])
  for (const l of lines) if (l.startsWith('ack ')) acknowledged.push(l.slice(4))
  expect(acknowledged.length).toBeGreaterThanOrEqual(rounds * (RACERS * FILES_PER_TURN + (options.killWriter ? 1 : 0)))
  // The racers really did meet at the lock.
  expect(refusals).toBeGreaterThan(0)
  // Holders saw `<file>.lock` exactly when they used the fallback: with the kernel lock, the
  // earlier version's pid file was gone by the time a racer held the container.
  expect([...lockFileSeen]).toEqual([options.env?.CARTRIDGE_LOCK === 'file' ? '1' : '0'])
  // The old pid file went with the first writer after it; a fallback lock file with its last writer.
  expect(existsSync(`${path}.lock`)).toBe(false)

  const cart = await Cartridge.open(path, { readOnly: true })
  try {
    const report = await cart.check({ data: true })
    expect(report.problems).toEqual([])
    const lost: string[] = []
    for (const p of acknowledged) {
      const data = await cart.read(p).catch(() => undefined)
      if (!data || !sameBytes(data, content(p))) lost.push(p)
    }
    expect(lost, 'acknowledged writes missing or wrong').toEqual([])
  } finally {
    await cart.close()
  }
}

describe.skipIf(!built || process.platform === 'win32')('writer lock under a race of processes', () => {
  it(`${RACERS} processes open at once after a SIGKILLed writer, ${ROUNDS} rounds: one writer at a time, nothing acknowledged is lost`, async () => {
    await race('kernel', ROUNDS, { killWriter: true })
  })

  it(`the lock-file fallback (CARTRIDGE_LOCK=file) also admits one writer at a time, ${FALLBACK_ROUNDS} rounds`, async () => {
    await race('fallback', FALLBACK_ROUNDS, { killWriter: false, env: { CARTRIDGE_LOCK: 'file' } })
  })
})
