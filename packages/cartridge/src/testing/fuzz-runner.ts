import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { FuzzInput } from './fuzz-inputs.js'

/** How one input ended. `wrong` counts only for damage; forged inputs may point at other bytes. */
export type Outcome = 'ok' | 'coded' | 'wrong' | 'uncoded' | 'crash' | 'hang'

export interface FuzzResult {
  index: number
  family: FuzzInput['family']
  what: string
  outcome: Outcome
  detail: string
}

export interface FuzzRunOptions {
  /** How many inputs. */
  inputs: number
  /** Makes input `i` (on demand, so only a few exist at once). */
  make: (i: number) => FuzzInput & { seed: string }
  /** Writes input `i` here. */
  file: (i: number) => string
  /** JSON file of every seed's versions, for the children. */
  manifest: string
  /** Children run side by side. */
  workers: number
  /** An input without a result in this long is a hang (the child is killed). */
  watchdogMs: number
  /** Heap limit of each child, MiB (a runaway allocation aborts the child: a crash). */
  heapMiB: number
}

const CHILD = fileURLToPath(new URL('./fuzz-child.mjs', import.meta.url))

/**
 * Runs every input through a child process (fuzz-child.mjs) under a watchdog: each worker feeds
 * its child one input at a time; a child that does not answer in time is killed (the input is a
 * hang) and one that dies is a crash; either way a fresh child takes the next input.
 */
export async function runFuzz(o: FuzzRunOptions): Promise<FuzzResult[]> {
  const results: FuzzResult[] = []
  let next = 0
  const worker = async () => {
    let child: Child | undefined
    try {
      while (next < o.inputs) {
        const i = next++
        const input = o.make(i)
        const file = o.file(i)
        writeFileSync(file, input.image)
        child ??= new Child(o.manifest, o.heapMiB)
        const got = await child.run({ i, file, family: input.family, seed: input.seed }, o.watchdogMs)
        if (got.outcome === 'crash' || got.outcome === 'hang') {
          child.kill()
          child = undefined
        }
        rmSync(file, { force: true })
        results.push({ index: i, family: input.family, what: input.what, ...got })
      }
    } finally {
      child?.kill()
    }
  }
  await Promise.all(Array.from({ length: o.workers }, worker))
  return results.sort((a, b) => a.index - b.index)
}

/** One child process, answering one job at a time. */
class Child {
  readonly #proc: ChildProcess
  #pending: ((r: { outcome: Outcome; detail: string }) => void) | undefined
  #stderr = ''

  constructor(manifest: string, heapMiB: number) {
    this.#proc = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, CHILD, manifest], { stdio: ['pipe', 'pipe', 'pipe'] })
    createInterface({ input: this.#proc.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as { outcome: Outcome; detail: string }
      const done = this.#pending
      this.#pending = undefined
      done?.({ outcome: r.outcome, detail: r.detail })
    })
    this.#proc.stderr!.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000)
    })
    this.#proc.on('exit', (code, signal) => {
      const done = this.#pending
      this.#pending = undefined
      done?.({ outcome: 'crash', detail: `child exited (${signal ?? code}): ${this.#stderr.trim().slice(-1500)}` })
    })
  }

  run(job: object, watchdogMs: number): Promise<{ outcome: Outcome; detail: string }> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending = undefined
        resolve({ outcome: 'hang', detail: `no answer in ${watchdogMs} ms` })
      }, watchdogMs)
      this.#pending = (r) => {
        clearTimeout(timer)
        resolve(r)
      }
      this.#proc.stdin!.write(`${JSON.stringify(job)}\n`)
    })
  }

  kill(): void {
    this.#proc.kill('SIGKILL')
  }
}
