import type { AllocatorFactory } from './allocator.js'
import { BitmapAllocator } from './bitmap-allocator.js'

/** The reference allocator: {@link BitmapAllocator}, the free-space bitmap of §10 of `spec/FORMAT.md`. */
export const bitmapAllocator: AllocatorFactory = Object.freeze<AllocatorFactory>({
  id: 'bitmap',
  create: (totalPages) => BitmapAllocator.create(totalPages),
  load: (io, root, totalPages) => BitmapAllocator.load(io, root, totalPages),
})
