const LAYER_ID = /^[a-z0-9-]{1,16}$/

/** Longest layer id, bytes. */
export const MAX_LAYER_ID_BYTES = 16

/**
 * Whether `id` is a valid layer id: 1–16 lowercase ASCII letters, digits or hyphens. A container
 * records the id of the catalog and allocator implementations that wrote it in its meta page.
 */
export function isLayerId(id: unknown): id is string {
  return typeof id === 'string' && LAYER_ID.test(id)
}
