// Workload 2: 1,000 × 1 MiB files written in one transaction, then read back.
import { manyFiles } from '../many-files.mjs'

export const id = 'w2'
export const title = 'large files: 1 MiB each, written in one transaction, then read back'

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean}} ctx */
export function run(ctx) {
  const count = { smoke: 8, quick: 1_000, full: 1_000 }[ctx.mode]
  const runs = { smoke: 1, quick: 2, full: 5 }[ctx.mode]
  return manyFiles({
    id, title: `${count.toLocaleString('en-US')} × 1 MiB files, one transaction, then read back`, count, size: 1024 * 1024, runs,
    peers: ['fs-onefile', 'dir', 'sqlite', 'lmdb'], want: ctx.want,
  })
}
