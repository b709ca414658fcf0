import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { CartridgeError, ErrorCodes, type KeyOptions } from 'cartridge'
import type { Io } from './io.js'

/** Where a command gets a container's key or passphrase from (global options). */
export interface KeyFlags {
  /** Name of an environment variable holding the passphrase. */
  passphraseEnv?: string
  /** A file holding the 32-byte key: raw bytes, or 64 hex digits. */
  keyFile?: string
}

/** The key or passphrase the flags name, or `{}` when they name none. */
export function resolveKeys(flags: KeyFlags, io: Pick<Io, 'cwd' | 'env'>): KeyOptions {
  if (flags.passphraseEnv !== undefined && flags.keyFile !== undefined) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'give --passphrase-env or --key-file, not both')
  }
  if (flags.passphraseEnv !== undefined) {
    const value = (io.env ?? process.env)[flags.passphraseEnv]
    if (value === undefined || value === '') {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `the environment variable ${flags.passphraseEnv} (--passphrase-env) is not set`)
    }
    return { passphrase: value }
  }
  if (flags.keyFile !== undefined) return { key: readKeyFile(resolve(io.cwd, flags.keyFile)) }
  return {}
}

/** A key file: exactly 32 bytes, or 64 hex digits (a trailing newline allowed). */
export function readKeyFile(path: string): Uint8Array {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    throw new CartridgeError(ErrorCodes.NOT_FOUND, `cannot read the key file ${path}`, { path, cause: err })
  }
  if (bytes.length === 32) return new Uint8Array(bytes)
  const text = bytes.toString('utf8').trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'))
  throw new CartridgeError(ErrorCodes.BAD_KEY, `the key file ${path} must hold 32 bytes, or 64 hex digits`, { path })
}

/**
 * Reads a passphrase from the terminal without echoing it. Fails with
 * `CARTRIDGE_INVALID_ARGUMENT` when stdin is not a terminal (scripts use `--passphrase-env`).
 */
export async function promptPassphrase(io: Io, label: string): Promise<string> {
  const stdin = io.stdin
  if (!stdin || !stdin.isTTY || typeof stdin.setRawMode !== 'function') {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'no terminal to ask for the passphrase on: use --passphrase-env NAME or --key-file FILE')
  }
  io.stderr.write(label)
  stdin.setRawMode(true)
  stdin.resume()
  try {
    return await new Promise<string>((resolvePromise, reject) => {
      let typed = ''
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData)
            io.stderr.write('\n')
            resolvePromise(typed)
            return
          }
          if (ch === '\u0003') {
            stdin.off('data', onData)
            io.stderr.write('\n')
            reject(new CartridgeError(ErrorCodes.ABORTED, 'cancelled'))
            return
          }
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1)
          else typed += ch
        }
      }
      stdin.on('data', onData)
    })
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
  }
}

/** A new passphrase typed twice on the terminal. */
export async function promptNewPassphrase(io: Io): Promise<string> {
  const first = await promptPassphrase(io, 'New passphrase: ')
  if (first === '') throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the passphrase is empty')
  const again = await promptPassphrase(io, 'Repeat it: ')
  if (again !== first) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the two passphrases differ')
  return first
}
