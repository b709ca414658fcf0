/*
 * How a container grows and how much room a vacuum leaves (spec §15), as pure functions of the
 * sizes involved (all in pages).
 */

/**
 * The size to grow a container of `total` pages to so that `needed` more pages fit: the first
 * size of the sequence 3 × 2^k pages (12 KiB, 24 KiB, … doubling) that fits, until the file
 * reaches `step` (maxGrowthPages), then `step` more at a time. A write larger than the container
 * (or than a step) grows it to what it needs plus `thresholdPercent` of that (at most one step)
 * as headroom. Capped at `maxPages` (0: unbounded).
 */
export function growthTarget(total: number, needed: number, step: number, thresholdPercent: number, maxPages: number): number {
  const min = total + needed
  let next = total + step
  if (total < step) {
    let seq = 3
    while (seq < min) seq *= 2
    next = Math.min(seq, next)
  }
  // A write larger than the container itself, or than a step: sized to it, plus headroom.
  if (needed > total || next < min) next = min + Math.min(Math.ceil((min * thresholdPercent) / 100), step)
  return maxPages > 0 && next > maxPages ? maxPages : next
}

/**
 * Free pages a vacuum leaves at the end of a file holding `used` pages: `thresholdPercent` of the
 * file, at most one growth `step`, so the writes after a vacuum do not grow it straight back.
 */
export function vacuumHeadroom(used: number, thresholdPercent: number, step: number): number {
  return Math.min(Math.ceil((used * thresholdPercent) / (100 - thresholdPercent)), step)
}
