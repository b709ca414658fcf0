// Workload 1: 10,000 × 4 KiB files written in one transaction, then read back.
import { manyFiles } from '../many-files.mjs'

export const id = 'w1'
export const title = 'small files: 4 KiB each, written in one transaction, then read back'

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean}} ctx */
export function run(ctx) {
  const count = { smoke: 300, quick: 10_000, full: 10_000 }[ctx.mode]
  const runs = { smoke: 1, quick: 3, full: 7 }[ctx.mode]
  return manyFiles({
    id, title: `${count.toLocaleString('en-US')} × 4 KiB files, one transaction, then read back`, count, size: 4096, runs,
    peers: ['fs-onefile', 'dir', 'sqlite', 'lmdb'], want: ctx.want,
  })
}
