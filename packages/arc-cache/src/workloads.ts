import type { Cache } from './cache.js'
import { seededRandom } from '@cartridge/core'

/** Shape of {@link scanPollutedTrace}; every field has a default. */
export interface ScanPollutedOptions {
  /** Keys `0 … universe-1` take the random accesses. Default 500. */
  universe?: number
  /** Fraction of the universe that is hot. Default 0.2. */
  hotFraction?: number
  /** Probability that a random access goes to the hot set. Default 0.8. */
  hotProbability?: number
  /** Random accesses between two scans. Default 400. */
  burst?: number
  /** Length of each sequential scan. Default 200. */
  scan?: number
}

/**
 * A deterministic 80/20 trace polluted by scans: bursts of random accesses (by default 80% to a hot
 * 20% of 500 keys, the rest to the other 400) alternate with sequential scans of fresh keys numbered
 * from `universe` upwards, none ever repeated. Such scans flush an LRU cache; ARC keeps the hot set.
 */
export function scanPollutedTrace(seed: number, length: number, options: ScanPollutedOptions = {}): number[] {
  const { universe = 500, hotFraction = 0.2, hotProbability = 0.8, burst = 400, scan = 200 } = options
  const rand = seededRandom(seed)
  const hot = Math.max(1, Math.round(universe * hotFraction))
  const trace: number[] = []
  let next = universe
  while (trace.length < length) {
    for (let i = 0; i < burst && trace.length < length; i++) {
      trace.push(rand() < hotProbability ? Math.floor(rand() * hot) : hot + Math.floor(rand() * (universe - hot)))
    }
    for (let i = 0; i < scan && trace.length < length; i++) trace.push(next++)
  }
  return trace
}

/**
 * A deterministic recency-friendly trace: accesses are uniform over a window of `window` keys that
 * slides forward one key every `step` accesses, so recently used keys are the likeliest next ones.
 */
export function slidingWindowTrace(seed: number, length: number, window = 120, step = 4): number[] {
  const rand = seededRandom(seed)
  const trace: number[] = []
  for (let i = 0; i < length; i++) trace.push(Math.floor(i / step) + Math.floor(rand() * window))
  return trace
}

/**
 * Replays `trace` against `cache` as a read-through cache (`get`, and `set` on a miss) and returns
 * the hit rate in [0, 1] of this replay.
 */
export function replayTrace<K>(cache: Cache<K, unknown>, trace: readonly K[]): number {
  let hits = 0
  for (const key of trace) {
    if (cache.get(key) !== undefined) hits++
    else cache.set(key, key)
  }
  return trace.length === 0 ? 0 : hits / trace.length
}
