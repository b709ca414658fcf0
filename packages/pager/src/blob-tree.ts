import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { NULL_PTR, isNullPtr, type BlockPtr } from './block-pointer.js'
import { PAGE_HEADER_SIZE, PAGE_PAYLOAD, type PageType } from './page-format.js'
import { writeNode, type PageIO } from './page-io.js'
import { buildPointerTree, readPointerTree } from './pointer-tree.js'

/**
 * A byte string stored as pages of one type under a pointer tree (§7): each page's payload holds
 * the next `used` bytes (every page full but the last). `count` in the header is the page's
 * position. For small structures written whole (an access policy); null for no bytes.
 */
export function writeBlob(io: PageIO, type: PageType, bytes: Uint8Array): BlockPtr {
  if (bytes.length === 0) return NULL_PTR
  const leaves: BlockPtr[] = []
  for (let off = 0, i = 0; off < bytes.length; off += PAGE_PAYLOAD, i++) {
    const piece = bytes.subarray(off, off + PAGE_PAYLOAD)
    leaves.push(writeNode(io, type, 0, i & 0xffff, piece.length, (page) => page.set(piece, PAGE_HEADER_SIZE)))
  }
  return buildPointerTree(io, leaves)
}

/**
 * Reads (and so verifies) a blob written by {@link writeBlob}; `onPage` receives every page.
 * @throws CartridgeError `CARTRIDGE_CORRUPT` or `CARTRIDGE_CHECKSUM`
 */
export function readBlob(io: Pick<PageIO, 'read'>, root: BlockPtr, type: PageType, maxBytes: number, onPage?: (ptr: BlockPtr) => void): Uint8Array {
  if (isNullPtr(root)) return new Uint8Array(0)
  const leaves = readPointerTree(io, root, onPage)
  if (leaves.length * PAGE_PAYLOAD > maxBytes + PAGE_PAYLOAD) throw new CartridgeError(ErrorCodes.CORRUPT, `a structure of ${leaves.length} pages is larger than ${maxBytes} bytes`, { page: root.page })
  const out = new Uint8Array(leaves.length * PAGE_PAYLOAD)
  let length = 0
  leaves.forEach((leaf, i) => {
    onPage?.(leaf)
    const page = io.read(leaf, type)
    const used = new DataView(page.buffer, page.byteOffset).getUint32(24, true)
    const count = new DataView(page.buffer, page.byteOffset).getUint16(6, true)
    if (count !== (i & 0xffff) || (i < leaves.length - 1 ? used !== PAGE_PAYLOAD : used === 0)) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `page ${leaf.page} does not continue the structure it is in`, { page: leaf.page })
    }
    out.set(page.subarray(PAGE_HEADER_SIZE, PAGE_HEADER_SIZE + used), length)
    length += used
  })
  return out.subarray(0, length)
}
