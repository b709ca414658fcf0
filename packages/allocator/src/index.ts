export type { Allocator, AllocatorFactory, AllocatorMark } from './allocator.js'
export { BitmapAllocator, PAGES_PER_LEAF } from './bitmap-allocator.js'
export { bitmapAllocator } from './bitmap-allocator-factory.js'
