export { Engram, type EngramFileInfo, type EngramOpenOptions, type EngramProblem, type EngramReport } from './engram.js'
export { writeEngram, type EngramManifest, type EngramSourceFile, type EngramSummary, type WriteEngramOptions } from './engram-writer.js'
export { BytesRangeSource, FileRangeSource, HttpRangeSource, type RangeSource } from './range-source.js'
export {
  formatPublicKey, formatSecretKey, generateSigningKey, keyId, parsePublicKey, parseSecretKey, publicKeyOf, signMessage, verifyMessage,
  type SigningKeyPair,
} from './signing-key.js'
export { BLOCK_SIZE, ENGRAM_MAGIC, HEADER_SIZE } from './engram-format.js'
