export type { Allocator, AllocatorMark } from './allocator.js'
export { BitmapAllocator, PAGES_PER_LEAF } from './bitmap-allocator.js'
