export { APPLICATION_CODEC_IDS, CodecId, type Codec, type CodecName, type CodecOptions } from './codec.js'
export { Lz4Codec } from './lz4-codec.js'
export { ZstdCodec, zstdEngine, ZSTD_DEFAULT_LEVEL, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL, type ZstdEngine } from './zstd-codec.js'
export { CodecSet, checkCodec, codecName, createCodec, isApplicationCodecId, isCodec, lz4, zstd } from './codecs.js'
