import type { CreateOptions, OpenOptions } from '../cartridge-options.js'

/**
 * A kind of container the crash, kill and model suites run on: the settings it is created with
 * and what opening it again needs. Suites take the list as a parameter, so every variant runs
 * the same trials.
 */
export interface ContainerVariant {
  name: string
  create: CreateOptions
  /** Options every later open needs (JSON-safe: child processes get them through the environment). */
  open: OpenOptions
}

/** Passphrase of the encrypted variants, with a scrypt cost tests can afford. */
export const TEST_PASSPHRASE = 'model passphrase'
export const TEST_ENCRYPTION = { passphrase: TEST_PASSPHRASE, scrypt: { logN: 10, r: 8, p: 1 } }

export const VARIANTS: ContainerVariant[] = [
  { name: 'plain', create: {}, open: {} },
  // The compressed variants keep an audit log too: the suites then also check that the log alone
  // rebuilds the files they reopen with (no operation without its entry, no entry without its operation).
  { name: 'zstd audited', create: { compression: { codec: 'zstd' }, auditLog: true }, open: {} },
  {
    name: 'encrypted zstd audited', create: { compression: { codec: 'zstd' }, encryption: TEST_ENCRYPTION, auditLog: true },
    open: { passphrase: TEST_PASSPHRASE },
  },
]

/** Open options for child processes, from `CARTRIDGE_TEST_OPEN` (JSON). */
export const CHILD_OPEN_ENV = 'CARTRIDGE_TEST_OPEN'
