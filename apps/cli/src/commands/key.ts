import { CartridgeError, ErrorCodes, type EncryptionSetting } from 'cartridge'
import { withCartridge } from '../open.js'
import { promptNewPassphrase, readKeyFile } from '../keys.js'
import { progressBar } from '../progress.js'
import { println, type Io } from '../io.js'
import { resolve } from 'node:path'

export interface NewKeyFlags {
  newPassphraseEnv?: string
  newKeyFile?: string
  quiet?: boolean
  json?: boolean
}

/** The new key or passphrase: from `--new-passphrase-env`, `--new-key-file`, or typed twice on the terminal. */
export async function newKey(io: Io, flags: NewKeyFlags): Promise<EncryptionSetting> {
  if (flags.newPassphraseEnv !== undefined && flags.newKeyFile !== undefined) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'give --new-passphrase-env or --new-key-file, not both')
  }
  if (flags.newPassphraseEnv !== undefined) {
    const value = (io.env ?? process.env)[flags.newPassphraseEnv]
    if (!value) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `the environment variable ${flags.newPassphraseEnv} is not set`)
    return { passphrase: value }
  }
  if (flags.newKeyFile !== undefined) return { key: readKeyFile(resolve(io.cwd, flags.newKeyFile)) }
  return { passphrase: await promptNewPassphrase(io) }
}

/** `cartridge key change <file>`: a new key or passphrase opens the container; nothing is rewritten. */
export async function keyChange(io: Io, file: string, flags: NewKeyFlags): Promise<number> {
  const setting = await newKey(io, flags)
  await withCartridge(file, io, { write: true }, (cart) => cart.changeKey(setting))
  if (flags.json) println(io.stdout, JSON.stringify({ changed: true }))
  else if (!flags.quiet) println(io.stderr, 'key changed: only the new one opens the container now')
  return 0
}

/** `cartridge key rekey <file>` and `cartridge key enable <file>`: every page sealed again (under a fresh data key), with a progress bar. */
export async function keyReseal(io: Io, file: string, mode: 'rekey' | 'enable', flags: NewKeyFlags): Promise<number> {
  const setting = mode === 'enable' ? await newKey(io, flags) : undefined
  await withCartridge(file, io, { write: true }, async (cart) => {
    let bar: ReturnType<typeof progressBar>
    let shown = 0
    const onProgress = (p: { bytesDone: number; bytesTotal: number }) => {
      bar ??= progressBar(io, p.bytesTotal, flags.quiet === true)
      bar?.advance(p.bytesDone - shown)
      shown = p.bytesDone
    }
    const ac = new AbortController()
    const stop = () => ac.abort(new Error('interrupted'))
    process.once('SIGINT', stop)
    try {
      if (setting) await cart.enableEncryption(setting, { onProgress, signal: ac.signal })
      else await cart.rekey({ onProgress, signal: ac.signal })
    } finally {
      process.off('SIGINT', stop)
      bar?.finish()
    }
  })
  if (flags.json) println(io.stdout, JSON.stringify({ [mode === 'enable' ? 'encrypted' : 'rekeyed']: true }))
  else if (!flags.quiet) println(io.stderr, mode === 'enable' ? 'encrypted: opening it needs the key or passphrase from now on' : 'rekeyed: every page is sealed under a fresh data key')
  return 0
}
