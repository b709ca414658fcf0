import { BLOCK_PTR_SIZE, PAGE_PAYLOAD } from '@cartridge/pager'

/** Longest key, in UTF-8 bytes (the longest normalized path). */
export const MAX_KEY_BYTES = 1024
/** Longest value, in bytes. */
export const MAX_VALUE_BYTES = 1024

/** Leaf entry overhead: `u16 keyLen, u16 valueLen`. */
export const LEAF_ENTRY_OVERHEAD = 4
/** Branch entry overhead after child 0: `u16 keyLen` and a block pointer. */
export const BRANCH_ENTRY_OVERHEAD = 2 + BLOCK_PTR_SIZE
/** Payload of a branch with one child (just child 0's pointer). */
export const BRANCH_BASE_BYTES = BLOCK_PTR_SIZE
/** A node whose payload falls under this after a delete is merged with a neighbour when they fit. */
export const MERGE_THRESHOLD = PAGE_PAYLOAD / 4
