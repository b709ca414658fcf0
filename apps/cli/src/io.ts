import type { Readable, Writable } from 'node:stream'
import type { KeyOptions } from 'cartridge'

/** The streams and directory a command runs with; `main` gets them, so tests can run in-process. */
export interface Io {
  stdout: Writable
  /** `isTTY` and `columns` decide whether and how wide a progress bar is drawn. */
  stderr: Writable & { isTTY?: boolean; columns?: number }
  /** Directory that relative container and local paths resolve against. */
  cwd: string
  /** Environment (default `process.env`): `--passphrase-env` reads from it. */
  env?: NodeJS.ProcessEnv
  /** Where a passphrase is asked for when it is a terminal. */
  stdin?: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown }
  /** The key or passphrase of the global options, resolved before a command runs. */
  keys?: KeyOptions
  /** `--as`: the principal requests are made for (default: the OS user). */
  principal?: string
}

/** Writes one line of text. */
export function println(out: Writable, line = ''): void {
  out.write(line + '\n')
}
