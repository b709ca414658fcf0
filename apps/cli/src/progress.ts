import { formatBytes, formatDuration } from './format.js'
import type { Io } from './io.js'

/** What one redraw of the progress bar shows. */
export interface ProgressState {
  /** Bytes done and to do. */
  done: number
  total: number
  /** Time since the work started. */
  elapsedMs: number
  /** Files done and to do (shown when `filesTotal` is given). */
  filesDone?: number
  filesTotal?: number
  /** Characters inside the brackets (default 24). */
  barWidth?: number
}

/**
 * One line of progress, e.g.
 * `[############------------]  50%  5.0 MiB / 10.0 MiB  3/6 files  2.5 MiB/s  ETA 0:02`.
 * Pure: the same state always gives the same line.
 */
export function formatProgress(s: ProgressState): string {
  const width = s.barWidth ?? 24
  const fraction = s.total > 0 ? Math.min(1, s.done / s.total) : 1
  const filled = Math.floor(fraction * width)
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled)
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
  const seconds = s.elapsedMs / 1000
  const rate = seconds > 0 ? s.done / seconds : 0
  let eta = '--:--'
  if (s.done >= s.total) eta = formatDuration(0)
  else if (rate > 0) eta = formatDuration((s.total - s.done) / rate)
  const parts = [`[${bar}]`, percent, `${formatBytes(s.done)} / ${formatBytes(s.total)}`]
  if (s.filesTotal !== undefined) parts.push(`${s.filesDone ?? 0}/${s.filesTotal} files`)
  parts.push(`${formatBytes(Math.round(rate))}/s`, `ETA ${eta}`)
  return parts.join('  ')
}

/** Whether `put` should draw a bar: on a terminal, not `--quiet`, and more than a moment's work. */
export function shouldShowProgress(o: { isTTY: boolean; quiet: boolean; totalBytes: number; files: number }): boolean {
  return o.isTTY && !o.quiet && (o.totalBytes > 1024 * 1024 || o.files > 20)
}

/** Where the bar is drawn: a terminal stream (its `columns` sizes the bar). */
export interface ProgressOutput {
  write(s: string): unknown
  columns?: number
}

/** A progress bar drawn when created, then redrawn in place with `\r` at most every `intervalMs`. */
export class ProgressBar {
  readonly #out: ProgressOutput
  readonly #now: () => number
  readonly #interval: number
  readonly #start: number
  #state: ProgressState
  #lastDraw = -Infinity
  #lastLength = 0

  constructor(out: ProgressOutput, total: number, options: { files?: number; now?: () => number; intervalMs?: number } = {}) {
    this.#out = out
    this.#now = options.now ?? Date.now
    this.#interval = options.intervalMs ?? 100
    this.#start = this.#now()
    this.#state = { done: 0, total, elapsedMs: 0, filesDone: options.files === undefined ? undefined : 0, filesTotal: options.files }
    this.#draw(this.#start)
  }

  /** Records `bytes` more done (and `files` more files finished). */
  advance(bytes: number, files = 0): void {
    this.#state.done += bytes
    if (this.#state.filesDone !== undefined) this.#state.filesDone += files
    const now = this.#now()
    if (now - this.#lastDraw >= this.#interval) this.#draw(now)
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    this.#draw(this.#now())
    this.#out.write('\n')
  }

  #draw(now: number): void {
    this.#lastDraw = now
    const columns = this.#out.columns ?? 80
    const plain = formatProgress({ ...this.#state, elapsedMs: now - this.#start, barWidth: 0 })
    const barWidth = Math.max(10, Math.min(40, columns - plain.length - 1))
    const line = formatProgress({ ...this.#state, elapsedMs: now - this.#start, barWidth })
    // Pad with spaces so a shorter line fully covers the previous one.
    this.#out.write('\r' + line.padEnd(this.#lastLength))
    this.#lastLength = line.length
  }
}

/**
 * The bar a command draws on `io.stderr` for `total` bytes, or undefined when none should be
 * drawn (see {@link shouldShowProgress}). `files`, when given, is counted and shown; without it
 * the work counts as one file.
 */
export function progressBar(io: Io, total: number, quiet: boolean, files?: number): ProgressBar | undefined {
  const show = shouldShowProgress({ isTTY: io.stderr.isTTY === true, quiet, totalBytes: total, files: files ?? 1 })
  return show ? new ProgressBar(io.stderr, total, { files }) : undefined
}

/** A pipeline step that passes chunks through, advancing `bar` by their length. */
export function counter(bar: ProgressBar | undefined): (chunks: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      bar?.advance(chunk.length)
      yield chunk
    }
  }
}
