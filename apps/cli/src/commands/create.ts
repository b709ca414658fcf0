import { relative } from 'node:path'
import { Cartridge, type CodecName, type EncryptionSetting } from 'cartridge'
import { promptNewPassphrase } from '../keys.js'
import { containerPath, slugOf } from '../open.js'
import { println, type Io } from '../io.js'

export interface CreateFlags {
  title?: string
  slug?: string
  maxBlocks?: number
  compress?: CodecName
  level?: number
  encrypt?: boolean
  audit?: boolean
}

/** `cartridge create <file>`: a new, empty container; the slug is the file's base name. */
export async function create(io: Io, file: string, flags: CreateFlags): Promise<number> {
  const path = containerPath(file, io.cwd)
  const slug = flags.slug ?? slugOf(path)
  const compression = flags.compress === undefined ? undefined : { codec: flags.compress, ...(flags.level === undefined ? {} : { level: flags.level }) }
  let encryption: EncryptionSetting | undefined
  if (flags.encrypt) {
    const keys = io.keys ?? {}
    encryption = keys.key ? { key: keys.key } : { passphrase: keys.passphrase ?? (await promptNewPassphrase(io)) }
  }
  const cart = await Cartridge.create(slug, flags.title, { path, maxBlocks: flags.maxBlocks, compression, encryption, ...(flags.audit ? { auditLog: true } : {}) })
  await cart.close()
  println(io.stdout, `created ${relative(io.cwd, path) || path} (slug ${slug})`)
  return 0
}
