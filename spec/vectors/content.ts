/** Deterministic content shared by the vector generator and the conformance tests (xorshift32). */
export { seededBytes as bytes } from '@cartridge/core'
