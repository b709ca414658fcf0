import { CartridgeError, ErrorCodes, isLayerId } from '@cartridge/core'

/** The layers a container records the implementation of (by id, in its meta page); also the name of the option that passes one. */
export type RecordedLayer = 'catalog' | 'allocator'

/**
 * Checks an implementation a user passes: it must have a valid id (it is written into the meta
 * page), and only the reference may use the reference's id.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT`
 */
export function checkedLayer<T extends { readonly id: string }>(layer: RecordedLayer, impl: T, reference: T): T {
  if (impl === null || typeof impl !== 'object' || !isLayerId(impl.id)) {
    throw new CartridgeError(
      ErrorCodes.INVALID_ARGUMENT,
      `the ${layer} implementation needs an id of 1–16 lowercase letters, digits or hyphens (got ${JSON.stringify((impl as { id?: unknown } | null)?.id)})`,
    )
  }
  if (impl !== reference && impl.id === reference.id) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `the ${layer} id '${impl.id}' names the reference implementation: give yours an id of its own`)
  }
  return impl
}

/**
 * The implementation of `layer` a container records (`id`; empty: the reference), among the
 * reference and the one the user passed.
 * @throws CartridgeError `CARTRIDGE_UNSUPPORTED` naming the layer and the id nothing implements
 */
export function pickLayer<T extends { readonly id: string }>(layer: RecordedLayer, id: string | undefined, reference: T, given: T | undefined): T {
  if (!id || id === reference.id) return reference
  if (given !== undefined && checkedLayer(layer, given, reference).id === id) return given
  const offered = given === undefined ? 'none was passed' : `the one passed is '${given.id}'`
  throw new CartridgeError(
    ErrorCodes.UNSUPPORTED,
    `this container's ${layer} was written by the '${id}' implementation, which is not available here (${offered}): pass it as the \`${layer}\` option`,
  )
}
