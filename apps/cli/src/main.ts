import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { isCartridgeError } from 'cartridge'
import pkg from '../package.json' with { type: 'json' }
import type { Io } from './io.js'
import { create } from './commands/create.js'
import { ls } from './commands/ls.js'
import { put } from './commands/put.js'
import { cat, get } from './commands/get.js'
import { rm } from './commands/rm.js'
import { mv } from './commands/mv.js'
import { info } from './commands/info.js'
import { check } from './commands/check.js'
import { sql, sqlExport, sqlImport } from './commands/sql.js'
import { snapshotCreate, snapshotDelete, snapshotDiff, snapshotList, snapshotRestore } from './commands/snapshot.js'
import { vacuum } from './commands/vacuum.js'
import { compress } from './commands/compress.js'
import { keyChange, keyReseal } from './commands/key.js'
import { engramCat, engramGet, engramLs, freeze, keygen, thaw, verify } from './commands/engram.js'
import { audit, auditCheckpoint, auditEnable, auditHead, auditRotate } from './commands/audit.js'
import { policyClear, policySet, policyShow, policyTest } from './commands/policy.js'
import { resolveKeys, type KeyFlags } from './keys.js'

export type { Io } from './io.js'

/**
 * Runs the CLI on `argv` (the arguments after the program name) and returns the exit code:
 * 0 on success, 1 on an error (printed as `cartridge: <message> (<code>)`), 2 on a usage error.
 * Nothing global is touched, so tests call it in-process.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  let code = 0
  // A copy: the global key options of this run go into it.
  const runIo: Io = { ...io }
  const program = buildProgram(runIo, (c) => (code = c))
  try {
    await program.parseAsync(argv, { from: 'user' })
    return code
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2 // already printed
    io.stderr.write(`cartridge: ${describeError(err)}\n`)
    return 1
  }
}

/** `message (CODE)` for a CartridgeError or a Node system error; never a stack trace. */
export function describeError(err: unknown): string {
  if (isCartridgeError(err)) return `${err.message} (${err.code})`
  const e = err as { message?: unknown; code?: unknown }
  const message = typeof e?.message === 'string' ? e.message : String(err)
  return typeof e?.code === 'string' ? `${message} (${e.code})` : message
}

function buildProgram(io: Io, setCode: (code: number) => void): Command {
  const program = new Command('cartridge')
    .description('Work with Cartridge containers: many files, mutable and crash-safe, in one file')
    .version(pkg.version)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // A usage error (exit 2) carries a code like every other error, for scripts to match.
      outputError: (s, write) => write(`cartridge: ${s.replace(/^error: /, '').trimEnd()} (CARTRIDGE_USAGE)\n`),
    })
    .showHelpAfterError('(see cartridge --help)')
    .helpCommand(true)
    .option('--passphrase-env <name>', 'an encrypted container: read its passphrase from this environment variable (a terminal is asked otherwise)')
    .option('--key-file <file>', 'an encrypted container: its 32-byte key, raw or as 64 hex digits')
    .option('--as <principal>', "act as this principal: the container's access policy decides for it, and the audit log records it (default: the OS user)")
    .hook('preAction', () => {
      const opts = program.opts<KeyFlags & { as?: string }>()
      io.keys = resolveKeys(opts, io)
      io.principal = opts.as
    })
  const run = (action: (...args: any[]) => Promise<number>) => async (...args: any[]) => setCode(await action(...args))

  program
    .command('create')
    .description('create an empty container (its slug is the file name without .cart)')
    .argument('<file>', 'container file (.cart is appended when missing)')
    .option('-t, --title <title>', 'title (default: the slug)')
    .option('--slug <slug>', 'slug (default: the file name without .cart)')
    .option('--max-blocks <n>', 'largest size in 4 KiB blocks (default: unbounded)', positiveInt)
    .addOption(new Option('--compress <codec>', 'compress new writes: lz4 (fast) or zstd').choices(['none', 'lz4', 'zstd']))
    .option('--level <n>', 'zstd level, 1 (fast) to 22 (small); default 3', positiveInt)
    .option('--encrypt', 'encrypt it (AES-256-GCM) with --passphrase-env, --key-file, or a passphrase typed twice')
    .option('--audit', 'keep a tamper-evident audit log of every operation from the first commit')
    .action(run((file: string, o) => create(io, file, o)))

  program
    .command('ls')
    .description('list the children of a directory (default /)')
    .argument('<file>', 'container file')
    .argument('[dir]', 'directory in the container', '/')
    .option('-l, --long', 'show size and modification time (UTC)')
    .option('-r, --recursive', 'list every file path below dir')
    .option('--snapshot <snapshot>', 'list what a snapshot (an id, or a name) holds instead of the live state')
    .option('--json', 'print a JSON array: { path, kind, size, modified } per entry (-r: every file)')
    .action(run((file: string, dir: string, o) => ls(io, file, dir, o)))

  program
    .command('put')
    .description('copy local files and directories into the container, in one transaction up to 64 MiB')
    .argument('<file>', 'container file')
    .argument('<source...>', 'local files or directories')
    .option('--to <dir>', 'directory in the container to copy into', '/')
    .addOption(new Option('--compression <codec>', "codec for these files instead of the container's (none for media that is compressed already)").choices(['none', 'lz4', 'zstd']))
    .option('-q, --quiet', 'no progress bar and no summary')
    .option('--json', 'print JSON: { files, bytes, paths }')
    .action(run((file: string, sources: string[], o) => put(io, file, sources, o)))

  program
    .command('get')
    .description('write a container file to stdout or --out; -r copies a directory out')
    .argument('<file>', 'container file')
    .argument('<path>', 'path in the container')
    .option('-o, --out <target>', 'local file (or directory with -r) to write')
    .option('-r, --recursive', 'copy the directory path and everything under it')
    .option('-f, --force', 'replace local files that exist')
    .option('--json', 'with --out or -r: print JSON { files: [{ path, out, bytes }] }')
    .action(run((file: string, path: string, o) => get(io, file, path, o)))

  program
    .command('cat')
    .description('write container files to stdout')
    .argument('<file>', 'container file')
    .argument('<path...>', 'paths in the container')
    .action(run((file: string, paths: string[]) => cat(io, file, paths)))

  program
    .command('rm')
    .description('delete files (all or none); -r deletes directories')
    .argument('<file>', 'container file')
    .argument('<path...>', 'paths in the container')
    .option('-r, --recursive', 'delete directories and everything under them')
    .option('--json', 'print JSON: { deleted: [path…] }')
    .action(run((file: string, paths: string[], o) => rm(io, file, paths, o)))

  program
    .command('mv')
    .description('rename a file or directory (into it, when <to> is a directory)')
    .argument('<file>', 'container file')
    .argument('<from>', 'path in the container')
    .argument('<to>', 'new path, or an existing directory')
    .option('-f, --force', 'replace a file that exists at <to>')
    .option('--json', 'print JSON: { from, to }')
    .action(run((file: string, from: string, to: string, o) => mv(io, file, from, to, o)))

  program
    .command('info')
    .description('size, blocks, free space, file count and last commit')
    .argument('<file>', 'container file')
    .option('--json', 'print JSON')
    .action(run((file: string, o) => info(io, file, o)))

  program
    .command('check')
    .description('verify the container structure; exit 1 if a problem is found')
    .argument('<file>', 'container file')
    .option('--data', 'also read every chunk and verify its checksum')
    .option('--json', 'print the report as JSON (exit status as without it)')
    .action(run((file: string, o) => check(io, file, o)))

  const snapshotCommand = program
    .command('snapshot')
    .description('create, list, restore, delete and diff snapshots: copy-on-write states of the container')

  snapshotCommand
    .command('create')
    .description('snapshot everything committed so far (it costs a few blocks, not a copy)')
    .argument('<file>', 'container file')
    .argument('[name]', 'unique name, not all digits (default: snapshot-<id>)')
    .option('--json', 'print JSON: { id, name, created, fileCount }')
    .action(run((file: string, name: string | undefined, o) => snapshotCreate(io, file, name, o)))

  snapshotCommand
    .command('list')
    .description('id, name, created (UTC), files, and the bytes only each snapshot holds')
    .argument('<file>', 'container file')
    .option('--json', 'print JSON')
    .action(run((file: string, o) => snapshotList(io, file, o)))

  snapshotCommand
    .command('restore')
    .description("make a snapshot the container's state, in one commit (other snapshots stay)")
    .argument('<file>', 'container file')
    .argument('<snapshot>', 'snapshot id (all digits) or name')
    .option('--save-current-as <name>', 'first keep the state being replaced as a snapshot with this name')
    .action(run((file: string, ref: string, o) => snapshotRestore(io, file, ref, o)))

  snapshotCommand
    .command('delete')
    .description('delete a snapshot and print the bytes only it held')
    .argument('<file>', 'container file')
    .argument('<snapshot>', 'snapshot id (all digits) or name')
    .option('--json', 'print JSON: { snapshot, freedBytes }')
    .action(run((file: string, ref: string, o) => snapshotDelete(io, file, ref, o)))

  snapshotCommand
    .command('diff')
    .description('paths added (+), removed (-) or changed (M) between two snapshots, or a snapshot and now')
    .argument('<file>', 'container file')
    .argument('<from>', 'snapshot id or name')
    .argument('[to]', 'snapshot id or name (default: the live state)')
    .option('--json', 'print JSON')
    .action(run((file: string, from: string, to: string | undefined, o) => snapshotDiff(io, file, from, to, o)))

  program
    .command('compress')
    .description("compress new writes with a codec and rewrite every file with it (default: the container's codec, else zstd)")
    .argument('<file>', 'container file')
    .addOption(new Option('--codec <codec>', 'lz4, zstd, or none to store everything raw').choices(['none', 'lz4', 'zstd']))
    .option('--level <n>', 'zstd level, 1 (fast) to 22 (small)', positiveInt)
    .option('-q, --quiet', 'no progress bar and no summary')
    .option('--json', 'print JSON: { codec, level, files, bytesBefore, bytesAfter, ratio }')
    .action(run((file: string, o) => compress(io, file, o)))

  const keyCommand = program.command('key').description('encryption: enable it, change the key or passphrase, or seal everything under a fresh data key')
  const newKeyOptions = (c: Command) =>
    c
      .option('--new-passphrase-env <name>', 'the new passphrase, from this environment variable (a terminal is asked otherwise)')
      .option('--new-key-file <file>', 'the new 32-byte key, raw or as 64 hex digits')
      .option('-q, --quiet', 'no progress bar and no summary')
      .option('--json', 'print JSON')
  newKeyOptions(keyCommand.command('change').description('change the key or passphrase (nothing is rewritten)').argument('<file>', 'container file'))
    .action(run((file: string, o) => keyChange(io, file, o)))
  newKeyOptions(keyCommand.command('enable').description('encrypt an unencrypted container (rewritten into a new file, then renamed into place)').argument('<file>', 'container file'))
    .action(run((file: string, o) => keyReseal(io, file, 'enable', o)))
  keyCommand
    .command('rekey')
    .description('seal every page again under a fresh data key (same key or passphrase; crash-safe; Ctrl-C stops it)')
    .argument('<file>', 'container file')
    .option('-q, --quiet', 'no progress bar and no summary')
    .option('--json', 'print JSON')
    .action(run((file: string, o) => keyReseal(io, file, 'rekey', o)))

  program
    .command('keygen')
    .description('make an Ed25519 signing key pair: <name>.key (secret, mode 0600) and <name>.pub')
    .argument('<name>', 'file name without extension')
    .option('-f, --force', 'replace key files that exist')
    .option('--json', 'print JSON: { secretKey, publicKey, keyId }')
    .action(run((name: string, o) => keygen(io, name, o)))
  program
    .command('freeze')
    .description('freeze the container (or a snapshot) into a signed, immutable engram anyone with the public key can verify')
    .argument('<file>', 'container file')
    .argument('<engram>', 'engram file to write (.eng)')
    .requiredOption('--key <file>', 'secret key file from `cartridge keygen`')
    .addOption(new Option('--compression <codec>', 'codec of the blocks (default zstd)').choices(['none', 'lz4', 'zstd']))
    .option('--level <n>', 'zstd level, 1 to 22', positiveInt)
    .option('--snapshot <snapshot>', 'freeze this snapshot (id or name) instead of the last commit')
    .option('-f, --force', 'replace the engram file if it exists')
    .option('-q, --quiet', 'no progress bar and no summary')
    .option('--json', 'print JSON: { path, bytes, files, root, signer }')
    .action(run((file: string, out: string, o) => freeze(io, file, out, o)))
  program
    .command('verify')
    .description('check an engram: the signature, and every block and directory page against the signed root (exit 1 if anything fails)')
    .argument('<engram>', 'engram file')
    .requiredOption('--pub <file>', "the signer's public key file")
    .option('--json', 'print the report as JSON: { valid, signer, problems, files, bytes }')
    .action(run((file: string, o) => verify(io, file, o)))
  const engramCommand = program.command('engram').description('read an engram: each file is checked against the signed root as it is read')
  engramCommand.command('ls').argument('<engram>', 'engram file').argument('[dir]', 'directory (default /)')
    .requiredOption('--pub <file>', "the signer's public key file").option('-l, --long', 'size and modification time').option('--json', 'print JSON')
    .action(run((file: string, dir: string | undefined, o) => engramLs(io, file, dir, o)))
  engramCommand.command('cat').argument('<engram>', 'engram file').argument('<path>', 'file in the engram')
    .requiredOption('--pub <file>', "the signer's public key file")
    .action(run((file: string, path: string, o) => engramCat(io, file, path, o)))
  engramCommand.command('get').argument('<engram>', 'engram file').argument('<path>', 'file in the engram')
    .requiredOption('--pub <file>', "the signer's public key file").option('-o, --out <target>', 'local file or directory').option('-f, --force', 'replace a local file that exists')
    .action(run((file: string, path: string, o) => engramGet(io, file, path, o)))
  program
    .command('thaw')
    .description('a new, mutable container holding the files of an engram (its signature must verify)')
    .argument('<engram>', 'engram file')
    .argument('<file>', 'container file to create')
    .requiredOption('--pub <file>', "the signer's public key file")
    .option('-q, --quiet', 'no summary')
    .action(run((file: string, target: string, o) => thaw(io, file, target, o)))

  program
    .command('vacuum')
    .description('move used blocks to the front and truncate the file; Ctrl-C stops it, and running it again goes on')
    .argument('<file>', 'container file')
    .option('--json', 'print JSON')
    .action(run((file: string, o) => vacuum(io, file, o)))

  // `sql <cart> <db> <sql>` is the command's own action; `sql export` and `sql import` are subcommands
  // (commander tries a subcommand name first, so a container called `export` needs `export.cart`).
  const sqlCommand = program
    .command('sql')
    .description('run SQL on a SQLite database in the container; export or import database files')
    .usage('[options] <cart> <db> <sql>\n       cartridge sql export [options] <cart> <db> <out-file>\n       cartridge sql import [options] <cart> <file.db> [db]')
    .argument('<cart>', 'container file')
    .argument('<db>', 'database in the container, e.g. /app.db')
    .argument('<sql>', 'SQL: one statement returning rows prints them; anything else (any number of statements) prints nothing')
    .addOption(new Option('--mode <mode>', "journal mode (default: the database's own; atomic for a new one)").choices(['atomic', 'wal']))
    .option('--create', 'create the database if it does not exist')
    .option('--readonly', 'open the container and the database read-only')
    .option('--json', 'print rows as a JSON array of objects (blobs as base64)')
    .addOption(new Option('--csv', 'print rows as CSV with a header line (blobs as hex)').conflicts('json'))
    .action(run((file: string, db: string, text: string, o) => sql(io, file, db, text, o)))

  sqlCommand
    .command('export')
    .description('write a database as a plain SQLite file (WAL checkpointed into it), then quick_check it')
    .argument('<cart>', 'container file')
    .argument('<db>', 'database in the container')
    .argument('<out-file>', 'local file to write')
    .option('-f, --force', 'replace <out-file> (and a -wal or -journal beside it) if it exists')
    .option('-q, --quiet', 'no progress bar and no summary')
    .action(run((file: string, db: string, out: string, o) => sqlExport(io, file, db, out, o)))

  sqlCommand
    .command('import')
    .description('copy a plain SQLite database file into the container, then quick_check it')
    .argument('<cart>', 'container file')
    .argument('<file.db>', 'local SQLite database (its -wal, if any, is checkpointed first)')
    .argument('[db]', 'path in the container (default: /<base name of file.db>)')
    .option('-f, --force', 'replace the database if it exists in the container')
    .option('-q, --quiet', 'no progress bar and no summary')
    .action(run((file: string, source: string, db: string | undefined, o) => sqlImport(io, file, source, db, o)))

  // `audit <cart>` is the command's own action; enable, head, checkpoint and rotate are subcommands.
  const auditCommand = program
    .command('audit')
    .description("list a container's audit log, or verify it (--verify); enable, head, checkpoint and rotate it")
    .usage('[options] <cart>\n       cartridge audit enable|head|checkpoint|rotate …')
    .argument('<cart>', 'container file')
    .option('--verify', 'recompute the log and check every entry, kept heads (--trusted), checkpoints and archives; exit 1 on a problem')
    .option('--since <time>', 'entries at or after this time (ISO 8601 or ms since the epoch)')
    .option('--until <time>', 'entries before this time')
    .option('--path <path>', 'entries about this path, or under it when it ends with /')
    .option('--action <action...>', 'only these actions (write, delete, rename, read, snapshot.create, …)')
    .option('--from <index>', 'start at this entry', nonNegativeInt)
    .option('--trusted <file...>', 'with --verify: heads (`audit head --json`) or checkpoints kept from earlier, which the log must still extend')
    .option('--archive <file...>', 'with --verify: rotated archives, which must verify and chain onto the container')
    .option('--pub <file>', 'with --verify: the public key that signed checkpoints and archives')
    .option('--json', 'print one JSON object per entry (with --verify: the report)')
    .action(run((file: string, o) => audit(io, file, o)))
  auditCommand.command('enable').description('start logging every operation (once on, the log stays on)')
    .argument('<cart>', 'container file').option('--reads', 'log content reads too')
    .action(run((file: string, o) => auditEnable(io, file, o)))
  auditCommand.command('head').description("print the log's head (size and root) to keep for a later --verify --trusted")
    .argument('<cart>', 'container file').option('--json', 'print JSON: { size, root, base, enabled, reads }')
    .option('-o, --out <file>', 'write that JSON to a file').option('-f, --force', 'replace the output file')
    .action(run((file: string, _o, cmd: Command) => auditHead(io, file, cmd.optsWithGlobals())))
  auditCommand.command('checkpoint').description('sign the current head with an Ed25519 key (and log that it was signed)')
    .argument('<cart>', 'container file').requiredOption('--key <file>', 'secret key file from `cartridge keygen`')
    .option('-o, --out <file>', 'write the checkpoint JSON here instead of stdout').option('-f, --force', 'replace the output file')
    .action(run((file: string, o) => auditCheckpoint(io, file, o)))
  auditCommand.command('rotate').description('move the stored entries into a signed archive (an engram) and drop them; the chain goes on')
    .argument('<cart>', 'container file').argument('<archive>', 'engram file to write (.eng)')
    .requiredOption('--key <file>', 'secret key file from `cartridge keygen`').option('-f, --force', 'replace the archive if it exists')
    .option('--json', 'print JSON: { file, base, size, root }')
    .action(run((file: string, out: string, _o, cmd: Command) => auditRotate(io, file, out, cmd.optsWithGlobals())))

  const policyCommand = program.command('policy').description("the container's access policy: who may do what to which paths")
  policyCommand.command('set').description('store a policy (JSON) in the container; every later open enforces it')
    .argument('<cart>', 'container file').argument('<file>', 'policy JSON file: { version: 1, name, statements: [...] }')
    .action(run((file: string, json: string) => policySet(io, file, json)))
  policyCommand.command('show').description('print the stored policy as JSON').argument('<cart>', 'container file')
    .action(run((file: string) => policyShow(io, file)))
  policyCommand.command('clear').description('remove the stored policy (everything is allowed again)').argument('<cart>', 'container file')
    .action(run((file: string) => policyClear(io, file)))
  policyCommand.command('test').description('print the decision for an action on a path and the statement that made it; exit 1 when denied')
    .argument('<cart>', 'container file').argument('<action>', 'read, write, delete, list, metadata, snapshot:read, …').argument('<path>', 'path in the container')
    .option('--principal <principal>', 'the principal asking (default: --as, else none)')
    .option('--tag <key=value...>', 'request tags, for conditions on tag:<key>')
    .option('--size <bytes>', 'the size of a write, for conditions on size', nonNegativeInt)
    .option('--json', 'print the decision as JSON')
    .action(run((file: string, action: string, path: string, o) => policyTest(io, file, action, path, o)))

  return program
}

function nonNegativeInt(value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer')
  return n
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer')
  return n
}
