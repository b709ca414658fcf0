export type { Cache, CacheStats } from './cache.js'
export { ArcCache } from './arc-cache.js'
export { LruCache } from './lru-cache.js'
export { scanPollutedTrace, slidingWindowTrace, replayTrace, type ScanPollutedOptions } from './workloads.js'
