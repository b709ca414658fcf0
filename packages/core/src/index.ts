export { AccessDeniedError, CartridgeError, ErrorCodes, isCartridgeError, toCartridgeError } from './cartridge-error.js'
export type { ErrorCode, CartridgeErrorOptions } from './cartridge-error.js'
export {
  normalizePath, normalizeFilePath, directoryPrefix, compareKeys, MAX_PATH_BYTES, MAX_SEGMENT_BYTES,
} from './container-path.js'
export { crc32, crc32Implementation, getU64, setU64, viewOf, utf8, fromUtf8, toBytes } from './bytes.js'
export { mixedBytes, seededBytes, seededRandom } from './seeded-random.js'
export { isLayerId, MAX_LAYER_ID_BYTES } from './layer-id.js'
