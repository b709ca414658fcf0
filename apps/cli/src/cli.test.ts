import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cartridge, MemoryPageStore } from 'cartridge'
import { main } from './main.js'
import { capture, runCliRaw } from './test-io.js'
import { formatProgress, ProgressBar, shouldShowProgress } from './progress.js'
import { formatBytes, formatDuration } from './format.js'


let dir: string

/** Runs the CLI in-process in the temp dir. */
const run = (...argv: string[]) => runCliRaw(dir, argv)

const bigFile = Buffer.alloc(1.5 * 1024 * 1024)
for (let i = 0; i < bigFile.length; i++) bigFile[i] = (i * 31 + (i >> 12)) & 0xff

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cartridge-cli-'))
  writeFileSync(join(dir, 'hello.txt'), 'hello world\n')
  writeFileSync(join(dir, 'big.bin'), bigFile)
  mkdirSync(join(dir, 'docs', 'deep'), { recursive: true })
  writeFileSync(join(dir, 'docs', 'a.md'), '# A\n')
  writeFileSync(join(dir, 'docs', 'b.md'), '# B\n')
  writeFileSync(join(dir, 'docs', 'deep', 'c.txt'), 'see\n')
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('cartridge CLI', () => {
  it('creates a container, appending .cart', async () => {
    const r = await run('create', 'demo', '--title', 'Demo box')
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(existsSync(join(dir, 'demo.cart'))).toBe(true)
  })

  it('puts files and a directory in one go', async () => {
    const r = await run('put', 'demo.cart', 'hello.txt', 'big.bin', 'docs')
    expect(r.stderr).toContain('put 5 files')
    expect(r.code).toBe(0)
    const nested = await run('put', 'demo', 'hello.txt', '--to', '/inbox', '--quiet')
    expect(nested).toMatchObject({ code: 0, stderr: '' })
  })

  it('lists children, long and recursive', async () => {
    const plain = await run('ls', 'demo')
    expect(plain.code).toBe(0)
    expect(plain.stdout.split('\n').filter(Boolean)).toEqual(['big.bin', 'docs/', 'hello.txt', 'inbox/'])

    const sub = await run('ls', 'demo', '/docs')
    expect(sub.stdout.split('\n').filter(Boolean)).toEqual(['a.md', 'b.md', 'deep/'])

    const long = await run('ls', 'demo', '-l')
    const bigLine = long.stdout.split('\n').find((l) => l.endsWith(' big.bin'))
    expect(bigLine).toMatch(new RegExp(`^\\s*${bigFile.length}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  big\\.bin$`))
    expect(long.stdout).toMatch(/-\s+docs\/\n/)

    const rec = await run('ls', 'demo', '-r')
    expect(rec.stdout.split('\n').filter(Boolean)).toEqual([
      '/big.bin', '/docs/a.md', '/docs/b.md', '/docs/deep/c.txt', '/hello.txt', '/inbox/hello.txt',
    ])
    const recLong = await run('ls', 'demo', '/docs', '-rl')
    expect(recLong.stdout).toMatch(/^\s+4  .+  \/docs\/a\.md$/m)
  })

  it('gets and cats files back byte for byte', async () => {
    const big = await run('get', 'demo', '/big.bin')
    expect(big.code).toBe(0)
    expect(big.bytes.equals(bigFile)).toBe(true)

    expect((await run('get', 'demo', '/big.bin', '--out', 'out/big.copy')).code).toBe(0)
    expect(readFileSync(join(dir, 'out', 'big.copy')).equals(bigFile)).toBe(true)

    const text = await run('cat', 'demo', '/hello.txt', 'docs/a.md')
    expect(text).toMatchObject({ code: 0, stdout: 'hello world\n# A\n' })

    expect((await run('get', 'demo', '/docs', '-r', '--out', 'restored')).code).toBe(0)
    expect(readFileSync(join(dir, 'restored', 'deep', 'c.txt'), 'utf8')).toBe('see\n')
    expect(readFileSync(join(dir, 'restored', 'b.md'), 'utf8')).toBe('# B\n')
  })

  it('moves files and directories', async () => {
    expect((await run('mv', 'demo', '/hello.txt', '/greeting.txt')).code).toBe(0)
    // One rule for overwriting: an existing file at the target needs --force.
    expect((await run('put', 'demo', 'hello.txt', '--to', '/', '-q')).code).toBe(0)
    const refused = await run('mv', 'demo', '/hello.txt', '/greeting.txt')
    expect(refused).toMatchObject({ code: 1, stderr: 'cartridge: /greeting.txt already exists (use --force to replace it) (CARTRIDGE_EXISTS)\n' })
    expect((await run('mv', 'demo', '/hello.txt', '/greeting.txt', '--force')).code).toBe(0)
    expect((await run('mv', 'demo', '/docs/deep', '/inbox')).code).toBe(0) // into an existing directory
    const rec = await run('ls', 'demo', '-r')
    expect(rec.stdout.split('\n').filter(Boolean)).toEqual([
      '/big.bin', '/docs/a.md', '/docs/b.md', '/greeting.txt', '/inbox/deep/c.txt', '/inbox/hello.txt',
    ])
    expect((await run('cat', 'demo', 'greeting.txt')).stdout).toBe('hello world\n')
  })

  it('removes files, and directories with -r', async () => {
    expect((await run('rm', 'demo', '/big.bin', '/docs/a.md')).code).toBe(0)
    // Without -r a directory is refused with one hint, however it is written; `/` included.
    for (const d of ['/inbox', '/inbox/', '/']) {
      const noR = await run('rm', 'demo', d)
      expect(noR).toMatchObject({ code: 1, stderr: `cartridge: ${d.length > 1 ? '/inbox' : '/'} is a directory (use -r) (CARTRIDGE_IS_A_DIRECTORY)\n` })
    }
    expect((await run('ls', 'demo', '-r')).stdout).toContain('/inbox/')
    expect((await run('rm', 'demo', '-r', '/inbox')).code).toBe(0)
    const rec = await run('ls', 'demo', '-r')
    expect(rec.stdout.split('\n').filter(Boolean)).toEqual(['/docs/b.md', '/greeting.txt'])
  })

  it('reports info as JSON and as text', async () => {
    const r = await run('info', 'demo', '--json')
    expect(r.code).toBe(0)
    const i = JSON.parse(r.stdout)
    expect(i).toMatchObject({ slug: 'demo', title: 'Demo box', fileCount: 2, durability: 'full' })
    const text = await run('info', 'demo')
    expect(text.stdout).toMatch(/^files:\s+2$/m)
    expect(text.stdout).toMatch(/^size:\s+[\d.]+ (KiB|MiB) \(\d+ blocks of 4 KiB\)$/m)
  })

  it('compression: create --compress, put --compression, compress rewrites, info shows codec and ratio', async () => {
    const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i % 997}: value ${(i * 13) % 101}\n`).join(''))
    mkdirSync(join(dir, 'zdir'))
    writeFileSync(join(dir, 'zdir', 'log.txt'), text)
    expect(await run('create', 'zdir/z.cart', '--compress', 'zstd', '--level', '7')).toMatchObject({ code: 0 })
    expect(await run('put', 'zdir/z.cart', 'zdir/log.txt', '--quiet')).toMatchObject({ code: 0 })
    expect(await run('put', 'zdir/z.cart', 'zdir/log.txt', '--to', '/raw', '--compression', 'none', '--quiet')).toMatchObject({ code: 0 })
    let i = JSON.parse((await run('info', 'zdir/z.cart', '--json')).stdout)
    expect(i.compression).toEqual({ codec: 'zstd', level: 7 })
    expect(i.content.storedBytes).toBeLessThan(text.length * 1.5)
    expect(i.content.storedBytes).toBeGreaterThan(text.length)
    const c = await run('compress', 'zdir/z.cart', '--codec', 'lz4', '--json')
    expect(c.code).toBe(0)
    expect(JSON.parse(c.stdout)).toMatchObject({ codec: 'lz4', files: 2 })
    i = JSON.parse((await run('info', 'zdir/z.cart', '--json')).stdout)
    expect(i.compression).toEqual({ codec: 'lz4', level: 0 })
    expect(i.content.storedBytes).toBeLessThan(text.length)
    const info = await run('info', 'zdir/z.cart')
    expect(info.stdout).toMatch(/^compression:\s+lz4 for new writes$/m)
    expect(info.stdout).toMatch(/^content:\s+.* stored \(ratio [\d.]+; \d+ of \d+ chunks compressed\)$/m)
    const back = await run('cat', 'zdir/z.cart', '/raw/log.txt')
    expect(back.stdout).toBe(text.toString())
    const bad = await run('create', 'zdir/bad.cart', '--compress', 'gzip')
    expect(bad.code).toBe(2)
    const badLevel = await run('create', 'zdir/bad.cart', '--compress', 'zstd', '--level', '40')
    expect(badLevel).toMatchObject({ code: 1 })
    expect(badLevel.stderr).toContain('CARTRIDGE_INVALID_ARGUMENT')
    expect(existsSync(join(dir, 'zdir', 'bad.cart'))).toBe(false)
    rmSync(join(dir, 'zdir'), { recursive: true })
  })

  it('encryption: create --encrypt, every command with --passphrase-env or --key-file, key change|enable|rekey', async () => {
    mkdirSync(join(dir, 'kdir'))
    writeFileSync(join(dir, 'kdir', 'secret.txt'), 'papa quebec romeo')
    process.env.CART_TEST_PASS = 'first passphrase'
    process.env.CART_TEST_PASS2 = 'second passphrase'
    try {
      expect(await run('create', 'kdir/v.cart', '--encrypt', '--passphrase-env', 'CART_TEST_PASS')).toMatchObject({ code: 0 })
      expect(await run('put', 'kdir/v.cart', 'kdir/secret.txt', '-q', '--passphrase-env', 'CART_TEST_PASS')).toMatchObject({ code: 0 })
      expect(readFileSync(join(dir, 'kdir', 'v.cart')).includes('papa quebec')).toBe(false)
      const noKey = await run('cat', 'kdir/v.cart', '/secret.txt')
      expect(noKey.code).toBe(1)
      expect(noKey.stderr).toContain('(CARTRIDGE_BAD_KEY)')
      const wrong = await run('cat', 'kdir/v.cart', '/secret.txt', '--passphrase-env', 'CART_TEST_PASS2')
      expect(wrong.stderr).toContain('(CARTRIDGE_BAD_KEY)')
      expect((await run('cat', 'kdir/v.cart', '/secret.txt', '--passphrase-env', 'CART_TEST_PASS')).stdout).toBe('papa quebec romeo')
      const info = await run('info', 'kdir/v.cart', '--passphrase-env', 'CART_TEST_PASS')
      expect(info.stdout).toMatch(/^encryption:\s+aes-256-gcm, opened with a passphrase$/m)
      expect(await run('key', 'change', 'kdir/v.cart', '--passphrase-env', 'CART_TEST_PASS', '--new-passphrase-env', 'CART_TEST_PASS2', '-q')).toMatchObject({ code: 0 })
      expect((await run('cat', 'kdir/v.cart', '/secret.txt', '--passphrase-env', 'CART_TEST_PASS')).code).toBe(1)
      expect(await run('key', 'rekey', 'kdir/v.cart', '--passphrase-env', 'CART_TEST_PASS2', '-q')).toMatchObject({ code: 0 })
      expect((await run('cat', 'kdir/v.cart', '/secret.txt', '--passphrase-env', 'CART_TEST_PASS2')).stdout).toBe('papa quebec romeo')
      // A plain container encrypted in place with a key file.
      writeFileSync(join(dir, 'kdir', 'key.hex'), 'ab'.repeat(32) + '\n')
      expect(await run('create', 'kdir/p.cart')).toMatchObject({ code: 0 })
      expect(await run('put', 'kdir/p.cart', 'kdir/secret.txt', '-q')).toMatchObject({ code: 0 })
      expect(await run('key', 'enable', 'kdir/p.cart', '--new-key-file', 'kdir/key.hex', '-q')).toMatchObject({ code: 0 })
      expect((await run('cat', 'kdir/p.cart', '/secret.txt', '--key-file', 'kdir/key.hex')).stdout).toBe('papa quebec romeo')
      expect((await run('cat', 'kdir/p.cart', '/secret.txt')).stderr).toContain('(CARTRIDGE_BAD_KEY)')
      // Without a terminal, nothing can be asked: a clear error, not a hang.
      const noTty = await run('create', 'kdir/n.cart', '--encrypt')
      expect(noTty.code).toBe(1)
      expect(noTty.stderr).toContain('--passphrase-env')
      expect(existsSync(join(dir, 'kdir', 'n.cart'))).toBe(false)
      expect((await run('ls', 'kdir/v.cart', '--passphrase-env', 'NOT_SET_ANYWHERE')).stderr).toContain('NOT_SET_ANYWHERE')
    } finally {
      delete process.env.CART_TEST_PASS
      delete process.env.CART_TEST_PASS2
      rmSync(join(dir, 'kdir'), { recursive: true })
    }
  })

  it('a terminal is asked for the passphrase without echo: twice to create, once to open', async () => {
    const { PassThrough } = await import('node:stream')
    const terminal = (typed: string) => {
      const stdin = Object.assign(new PassThrough(), { isTTY: true, raw: false, setRawMode(raw: boolean) { this.raw = raw } })
      // Keys arrive once the prompt listens, one chunk per line as a terminal sends them.
      const lines = typed.split(/(?<=\r)/)
      stdin.on('resume', () => setImmediate(() => lines.length > 0 && stdin.write(lines.shift()!)))
      return stdin
    }
    const withTty = async (argv: string[], typed: string) => {
      const out = capture()
      const err = capture()
      const stdin = terminal(typed)
      const code = await main(argv, { stdout: out.stream, stderr: err.stream, cwd: dir, stdin })
      return { code, stdout: out.text(), stderr: err.text(), raw: stdin.raw }
    }
    const created = await withTty(['create', 'tty.cart', '--encrypt'], 'sierra tango\rsierra tango\r')
    expect(created.code).toBe(0)
    expect(created.stderr).toContain('New passphrase: ')
    expect(created.stderr).not.toContain('sierra')
    expect(created.raw).toBe(false)
    const listed = await withTty(['ls', 'tty.cart'], 'sierra tango\r')
    expect(listed).toMatchObject({ code: 0 })
    expect(listed.stderr).toContain('Passphrase: ')
    const wrong = await withTty(['ls', 'tty.cart'], 'uniform\r')
    expect(wrong.stderr).toContain('(CARTRIDGE_BAD_KEY)')
    const mismatch = await withTty(['create', 'tty2.cart', '--encrypt'], 'one\rtwo\r')
    expect(mismatch.stderr).toContain('the two passphrases differ')
    expect(existsSync(join(dir, 'tty2.cart'))).toBe(false)
    rmSync(join(dir, 'tty.cart'))
  })

  it('engrams: keygen, freeze, verify, engram ls|cat|get, thaw; a tampered engram fails verify with exit 1', async () => {
    mkdirSync(join(dir, 'edir'))
    writeFileSync(join(dir, 'edir', 'poem.txt'), 'xray yankee zulu\n'.repeat(500))
    try {
      expect(await run('create', 'edir/e.cart')).toMatchObject({ code: 0 })
      expect(await run('put', 'edir/e.cart', 'edir/poem.txt', '-q')).toMatchObject({ code: 0 })
      const kg = await run('keygen', 'edir/signer', '--json')
      expect(kg.code).toBe(0)
      expect(JSON.parse(kg.stdout).keyId).toMatch(/^[0-9a-f]{16}$/)
      expect((await run('keygen', 'edir/signer')).stderr).toContain('(CARTRIDGE_EXISTS)')
      const fr = await run('freeze', 'edir/e.cart', 'edir/e.eng', '--key', 'edir/signer.key', '--json')
      expect(fr.code).toBe(0)
      expect(JSON.parse(fr.stdout)).toMatchObject({ files: 1 })
      expect((await run('verify', 'edir/e.eng', '--pub', 'edir/signer.pub')).stdout).toMatch(/^valid: 1 file, signed by [0-9a-f]{16}$/m)
      expect((await run('engram', 'ls', 'edir/e.eng', '--pub', 'edir/signer.pub')).stdout).toBe('/poem.txt\n')
      expect((await run('engram', 'cat', 'edir/e.eng', '/poem.txt', '--pub', 'edir/signer.pub')).stdout).toBe('xray yankee zulu\n'.repeat(500))
      expect(await run('engram', 'get', 'edir/e.eng', '/poem.txt', '--out', 'edir/out.txt', '--pub', 'edir/signer.pub')).toMatchObject({ code: 0 })
      expect(readFileSync(join(dir, 'edir', 'out.txt'), 'utf8')).toBe('xray yankee zulu\n'.repeat(500))
      expect(await run('thaw', 'edir/e.eng', 'edir/t.cart', '--pub', 'edir/signer.pub', '-q')).toMatchObject({ code: 0 })
      expect((await run('cat', 'edir/t.cart', '/poem.txt')).stdout).toBe('xray yankee zulu\n'.repeat(500))
      const eng = readFileSync(join(dir, 'edir', 'e.eng'))
      eng[300] ^= 1
      writeFileSync(join(dir, 'edir', 'bad.eng'), eng)
      const bad = await run('verify', 'edir/bad.eng', '--pub', 'edir/signer.pub')
      expect(bad.code).toBe(1)
      expect(bad.stdout).toContain('INVALID')
      expect((await run('keygen', 'edir/other')).code).toBe(0)
      expect((await run('verify', 'edir/e.eng', '--pub', 'edir/other.pub')).code).toBe(1)
      expect((await run('engram', 'cat', 'edir/e.eng', '/poem.txt', '--pub', 'edir/other.pub')).stderr).toContain('(CARTRIDGE_AUTH_FAILED)')
    } finally {
      rmSync(join(dir, 'edir'), { recursive: true })
    }
  })

  it('checks the container', async () => {
    const r = await run('check', 'demo', '--data')
    expect(r.stdout).toMatch(/^ok: 2 files/m)
    expect(r.code).toBe(0)
  })

  it('a missing path: exit 1 and the code, no stack trace', async () => {
    const r = await run('get', 'demo', '/nope.txt')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^cartridge: .*\(CARTRIDGE_NOT_FOUND\)\n$/)
    expect(r.stderr).not.toContain('    at ')
    expect((await run('get', 'demo', '/nope.txt', '--out', 'nope.txt')).code).toBe(1)
    expect(existsSync(join(dir, 'nope.txt'))).toBe(false)
  })

  it('get never destroys a local file: refuses to overwrite without --force, replaces whole or not at all', async () => {
    // In a folder of its own (the put of `.` below lists this test's folder).
    const own = mkdtempSync(join(tmpdir(), 'cartridge-get-'))
    try {
      const box = join(own, 'safe')
      expect((await run('create', box)).code).toBe(0)
      expect((await run('put', box, 'hello.txt', 'big.bin', '-q')).code).toBe(0)
      const keep = join(own, 'keep.txt')
      writeFileSync(keep, 'mine')
      const refused = await run('get', box, '/hello.txt', '--out', keep)
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/keep\.txt already exists \(use --force to replace it\) \(CARTRIDGE_EXISTS\)/)
      expect(readFileSync(keep, 'utf8')).toBe('mine')
      expect((await run('get', box, '/hello.txt', '--out', keep, '--force')).code).toBe(0)
      expect(readFileSync(keep, 'utf8')).toBe('hello world\n')
      // A directory as --out (with or without a slash) receives the file under its own name.
      const into = join(own, 'into')
      mkdirSync(into)
      expect((await run('get', box, '/hello.txt', '--out', `${into}/`)).code).toBe(0)
      expect(readFileSync(join(into, 'hello.txt'), 'utf8')).toBe('hello world\n')
      expect((await run('get', box, '/big.bin', '--out', into)).code).toBe(0)
      expect(readFileSync(join(into, 'big.bin')).equals(bigFile)).toBe(true)
      // A file that cannot be written is reported as what it is, and is not deleted.
      if (existsSync('/proc/version') && process.getuid?.() !== 0) {
        const before = readFileSync('/proc/version', 'utf8')
        const r = await run('get', box, '/hello.txt', '--out', '/proc/version', '--force')
        expect(r.code).toBe(1)
        expect(r.stderr).toMatch(/cannot (write|replace|create)[^\n]*\(CARTRIDGE_IO\)/)
        expect(readFileSync('/proc/version', 'utf8')).toBe(before)
      }
      // No partial file is left behind.
      expect(readdirSync(into).filter((n) => n.includes('.partial'))).toEqual([])
    } finally {
      rmSync(own, { recursive: true, force: true })
    }
  })

  it('put: a missing source is CARTRIDGE_NOT_FOUND naming it; a source named twice is put once', async () => {
    const own = mkdtempSync(join(tmpdir(), 'cartridge-put-'))
    try {
      const box = join(own, 'twice')
      expect((await run('create', box)).code).toBe(0)
      const missing = await run('put', box, join(own, 'nope.txt'))
      expect(missing.code).toBe(1)
      expect(missing.stderr).toMatch(/^cartridge: no such file or directory to put: .*nope\.txt \(CARTRIDGE_NOT_FOUND\)\n$/)
      const twice = await run('put', box, 'docs', 'docs')
      expect(twice.code).toBe(0)
      expect(twice.stderr).toMatch(/^put 3 files/)
    } finally {
      rmSync(own, { recursive: true, force: true })
    }
  })

  it('--json on ls, check, put, get, rm, mv and snapshot create|delete prints the documented shape', async () => {
    const own = mkdtempSync(join(tmpdir(), 'cartridge-json-'))
    const json = async (...argv: string[]) => {
      const r = await run(...argv, '--json')
      expect(r, argv.join(' ')).toMatchObject({ code: 0, stderr: '' })
      return JSON.parse(r.stdout)
    }
    try {
      const box = join(own, 'j')
      expect((await run('create', box)).code).toBe(0)
      expect(await json('put', box, 'hello.txt', 'docs', '--to', '/in')).toEqual({
        files: 4, bytes: 12 + 4 + 4 + 4, paths: ['/in/hello.txt', '/in/docs/a.md', '/in/docs/b.md', '/in/docs/deep/c.txt'],
      })
      const listed = await json('ls', box, '/in')
      expect(listed).toEqual([
        { path: '/in/docs', kind: 'dir' },
        { path: '/in/hello.txt', kind: 'file', size: 12, modified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      ])
      expect((await json('ls', box, '/in', '-r')).map((e: { path: string }) => e.path)).toEqual(['/in/docs/a.md', '/in/docs/b.md', '/in/docs/deep/c.txt', '/in/hello.txt'])
      expect(await json('ls', box, '/nothing-here/', '-r').catch(() => 'missing')).toBe('missing')
      const report = await json('check', box, '--data')
      expect(report).toMatchObject({ ok: true, problems: [], omittedProblems: 0, files: 4 })
      expect(await json('mv', box, '/in/hello.txt', '/in/docs')).toEqual({ from: '/in/hello.txt', to: '/in/docs/hello.txt' })
      expect(await json('get', box, '/in/docs', '-r', '--out', join(own, 'out'))).toEqual({
        files: [
          { path: '/in/docs/a.md', out: join(own, 'out', 'a.md'), bytes: 4 },
          { path: '/in/docs/b.md', out: join(own, 'out', 'b.md'), bytes: 4 },
          { path: '/in/docs/deep/c.txt', out: join(own, 'out', 'deep', 'c.txt'), bytes: 4 },
          { path: '/in/docs/hello.txt', out: join(own, 'out', 'hello.txt'), bytes: 12 },
        ],
      })
      expect((await run('get', box, '/in/docs/a.md', '--json')).stderr).toMatch(/--json needs --out or -r.*\(CARTRIDGE_INVALID_ARGUMENT\)/)
      expect(await json('snapshot', 'create', box, 'one')).toMatchObject({ id: 1, name: 'one', fileCount: 4 })
      expect(await json('rm', box, '/in/docs/a.md')).toEqual({ deleted: ['/in/docs/a.md'] })
      expect(await json('snapshot', 'delete', box, 'one')).toEqual({ snapshot: 'one', freedBytes: expect.any(Number) })
    } finally {
      rmSync(own, { recursive: true, force: true })
    }
  })

  it('a file that exists is opened by its own name, not with .cart added', async () => {
    const r = await run('info', join(dir, 'hello.txt'))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`not a cartridge`)
    expect(r.stderr).not.toContain('hello.txt.cart')
  })

  it('a missing container: CARTRIDGE_NOT_FOUND', async () => {
    const r = await run('ls', 'absent')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('(CARTRIDGE_NOT_FOUND)')
  })

  it('creating an existing container: CARTRIDGE_EXISTS', async () => {
    const r = await run('create', 'demo')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^cartridge: .*\(CARTRIDGE_EXISTS\)\n$/)
  })

  it('a bad slug: CARTRIDGE_INVALID_ARGUMENT, and no file left behind', async () => {
    const r = await run('create', 'Bad_Name')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('(CARTRIDGE_INVALID_ARGUMENT)')
    expect(existsSync(join(dir, 'Bad_Name.cart'))).toBe(false)
  })

  it('usage errors exit 2; --help exits 0', async () => {
    const missing = await run('get', 'demo')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^cartridge: missing required argument 'path' \(CARTRIDGE_USAGE\)\n/)
    const unknown = await run('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^cartridge: unknown command 'frobnicate' \(CARTRIDGE_USAGE\)\n/)
    expect((await run('create', 'x', '--max-blocks', 'lots')).code).toBe(2)
    const help = await run('--help')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('put [options] <file> <source...>')
  })

  it('a put is all or nothing up to 64 MiB', async () => {
    // /greeting.txt is a file, so /greeting.txt/docs/… cannot be created: nothing of this put lands.
    const r = await run('put', 'demo', 'hello.txt', 'docs', '--to', '/greeting.txt', '-q')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('(CARTRIDGE_NOT_A_DIRECTORY)')
    const r2 = await run('put', 'demo', '.', '--to', '/staged', '-q')
    expect(r2.code).toBe(0)
    expect((await run('rm', 'demo', '-r', '/staged', '/nope')).code).toBe(1) // rm is all or nothing too
    // Like cp -r, `.` lands under its own name; it holds demo.cart itself, which is skipped.
    const base = `/staged/${basename(dir)}`
    expect((await run('ls', 'demo', '/staged', '-r')).stdout.split('\n').filter(Boolean)).toEqual(
      ['big.bin', 'docs/a.md', 'docs/b.md', 'docs/deep/c.txt', 'hello.txt', 'out/big.copy', 'restored/b.md', 'restored/deep/c.txt', 'restored/a.md']
        .map((p) => `${base}/${p}`)
        .sort(),
    )
    expect((await run('rm', 'demo', '-r', '/staged')).code).toBe(0)
  })

  it('over 64 MiB, puts file by file, streaming the large ones', async () => {
    const huge = Buffer.alloc(65 * 1024 * 1024)
    for (let i = 0; i < huge.length; i += 4096) huge.writeUInt32LE(i, i)
    writeFileSync(join(dir, 'huge.bin'), huge)
    expect((await run('put', 'demo', 'huge.bin', 'hello.txt', '--to', '/h', '-q')).code).toBe(0)
    expect((await run('get', 'demo', '/h/huge.bin', '-o', 'huge.copy')).code).toBe(0)
    expect(readFileSync(join(dir, 'huge.copy')).equals(huge)).toBe(true)
    expect((await run('check', 'demo')).code).toBe(0)
    expect((await run('rm', 'demo', '-r', '/h')).code).toBe(0)
  })

  it('draws a progress bar on a TTY for long work', async () => {
    const err = capture(true)
    const code = await main(['put', 'demo', 'big.bin', '--to', '/again'], { stdout: capture().stream, stderr: err.stream, cwd: dir })
    expect(code).toBe(0)
    expect(err.text()).toMatch(/^\r\[-+\]    0%  0 B \/ 1\.5 MiB  0\/1 files .*\r\[#+\]  100%  1\.5 MiB \/ 1\.5 MiB  1\/1 files .*\nput 1 file \(1\.5 MiB\)\n$/s)
  })
})

describe('recovery warning', () => {
  it('warns on stderr when open skipped a damaged newest commit', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'rec' } })
    await cart.write('/old.txt', 'old')
    const before = store.snapshot()
    await cart.write('/new.txt', 'x'.repeat(100_000))
    const image = store.snapshot()
    // Damage every page the newest commit wrote, meta pages aside.
    for (let p = 2 * 4096; p < image.length; p += 4096) {
      if (p >= before.length || Buffer.compare(image.subarray(p, p + 4096), before.subarray(p, p + 4096)) !== 0) image[p + 64] ^= 0xff
    }
    const own = mkdtempSync(join(tmpdir(), 'cartridge-cli-recovery-'))
    writeFileSync(join(own, 'rec.cart'), image)
    const r = await runCliRaw(own, ['ls', 'rec'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('old.txt')
    expect(r.stdout).not.toContain('new.txt')
    expect(r.stderr).toMatch(/^cartridge: warning: the newest commit \(\d+\) did not verify .*opened the previous commit/m)
    rmSync(own, { recursive: true, force: true })
  })

})

describe('progress', () => {
  it('formats bytes, rate and ETA', () => {
    const line = formatProgress({ done: 5 * 1024 * 1024, total: 10 * 1024 * 1024, elapsedMs: 2000, barWidth: 10 })
    expect(line).toBe('[#####-----]   50%  5.0 MiB / 10.0 MiB  2.5 MiB/s  ETA 0:02')
  })

  it('shows files, and handles the start and the end', () => {
    expect(formatProgress({ done: 0, total: 2048, elapsedMs: 0, filesDone: 0, filesTotal: 3, barWidth: 4 })).toBe(
      '[----]    0%  0 B / 2.0 KiB  0/3 files  0 B/s  ETA --:--',
    )
    expect(formatProgress({ done: 2048, total: 2048, elapsedMs: 1000, barWidth: 4 })).toBe('[####]  100%  2.0 KiB / 2.0 KiB  2.0 KiB/s  ETA 0:00')
    expect(formatProgress({ done: 0, total: 0, elapsedMs: 0, barWidth: 2 })).toMatch(/^\[##\]  100%/)
  })

  it('formats sizes and durations', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB')
    expect(formatDuration(59.6)).toBe('1:00')
    expect(formatDuration(3725)).toBe('1:02:05')
  })

  it('is shown only on a TTY, without --quiet, for long work', () => {
    const big = { isTTY: true, quiet: false, totalBytes: 2 * 1024 * 1024, files: 1 }
    expect(shouldShowProgress(big)).toBe(true)
    expect(shouldShowProgress({ ...big, isTTY: false })).toBe(false)
    expect(shouldShowProgress({ ...big, quiet: true })).toBe(false)
    expect(shouldShowProgress({ ...big, totalBytes: 1000 })).toBe(false)
    expect(shouldShowProgress({ ...big, totalBytes: 1000, files: 21 })).toBe(true)
  })

  it('redraws in place, throttled', () => {
    let t = 0
    const writes: string[] = []
    const bar = new ProgressBar({ write: (s: string) => writes.push(s), columns: 80 }, 100, { now: () => t, intervalMs: 100 })
    t = 50
    bar.advance(10) // throttled
    t = 150
    bar.advance(10)
    bar.finish()
    expect(writes).toHaveLength(4)
    expect(writes.slice(0, 3).every((w) => w.startsWith('\r['))).toBe(true)
    expect(writes[0]).toContain('  0% ')
    expect(writes[1]).toContain(' 20% ')
    expect(writes[3]).toBe('\n')
  })
})
