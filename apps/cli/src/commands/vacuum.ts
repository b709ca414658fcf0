import { CartridgeError, ErrorCodes, isCartridgeError, type VacuumProgress, type VacuumResult } from 'cartridge'
import { withCartridge } from '../open.js'
import { formatBytes, plural } from '../format.js'
import { progressBar, type ProgressBar } from '../progress.js'
import { println, type Io } from '../io.js'

export interface VacuumFlags {
  json?: boolean
}

/** Bytes in a container block. */
const BLOCK_SIZE = 4096

/** Receives a vacuum's progress reports and draws them; `finish` ends the bar's line (if one was drawn). */
export interface VacuumProgressView {
  onProgress(p: VacuumProgress): void
  finish(): void
}

/**
 * A progress bar on `io.stderr` for a vacuum: the bytes of the blocks moved so far out of those
 * it set out to move. The bar starts with the first report that knows that total (the sweep
 * before it does not), and only when {@link progressBar} would draw one (so never for nothing
 * to move). Moved counts past the total (a later round can move more) are clamped to it.
 */
export function vacuumProgress(io: Io): VacuumProgressView {
  let bar: ProgressBar | undefined
  let total: number | undefined
  let shown = 0
  return {
    onProgress(p) {
      if (p.phase === 'sweep') return
      if (total === undefined) {
        total = Math.max(0, p.pagesToMove) * BLOCK_SIZE
        bar = progressBar(io, total, false)
      }
      const done = Math.min(Math.max(0, p.movedPages) * BLOCK_SIZE, total)
      if (done > shown) {
        bar?.advance(done - shown)
        shown = done
      }
    },
    finish() {
      bar?.finish()
      bar = undefined
    },
  }
}

/**
 * `cartridge vacuum <file>`: moves used blocks toward the start of the container and truncates
 * it, then prints the size before and after. Each step is its own commit: when `signal` aborts
 * (by default Ctrl-C does), what was moved stays committed and the next vacuum goes on from there.
 * @param signal aborts the vacuum; when left out, SIGINT aborts it (its listener is removed at the end)
 */
export async function vacuum(io: Io, file: string, flags: VacuumFlags, signal?: AbortSignal): Promise<number> {
  const controller = signal === undefined ? new AbortController() : undefined
  const onSigint = () => controller?.abort(new Error('interrupted (SIGINT)'))
  if (controller) process.once('SIGINT', onSigint)
  const abortSignal = signal ?? controller!.signal
  const progress = vacuumProgress(io)
  let movedPages = 0
  let result: VacuumResult
  try {
    result = await withCartridge(file, io, { write: true }, (cart) =>
      cart.vacuum({
        signal: abortSignal,
        onProgress: (p) => {
          movedPages = p.movedPages
          progress.onProgress(p)
        },
      }),
    )
  } catch (err) {
    if (abortSignal.aborted && isCartridgeError(err, ErrorCodes.ABORTED)) {
      throw new CartridgeError(
        ErrorCodes.ABORTED,
        `vacuum interrupted after moving ${plural(movedPages, 'block')}: what was moved stays committed; run cartridge vacuum again to continue`,
        { cause: err },
      )
    }
    throw err
  } finally {
    progress.finish()
    if (controller) process.off('SIGINT', onSigint)
  }
  const reclaimedBytes = Math.max(0, result.bytesBefore - result.bytesAfter)
  if (flags.json) {
    println(io.stdout, JSON.stringify({ ...result, reclaimedBytes }, null, 2))
    return 0
  }
  const swept = result.sweptPages > 0 ? `, freed ${result.sweptPages} unreferenced` : ''
  println(io.stdout, `size: ${formatBytes(result.bytesBefore)} → ${formatBytes(result.bytesAfter)}`)
  println(io.stdout, `reclaimed ${formatBytes(reclaimedBytes)} (moved ${plural(result.movedPages, 'block')}${swept}, in ${plural(result.commits, 'commit')})`)
  return 0
}
