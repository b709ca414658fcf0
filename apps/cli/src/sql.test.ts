import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { main } from './main.js'
import { capture, runCli } from './test-io.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A fresh temp dir holding an empty container `box.cart`, and a way to run the CLI in it. */
async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'cartridge-cli-sql-'))
  dirs.push(dir)
  const run = (...argv: string[]) => runCli(dir, argv)
  expect((await run('create', 'box')).code).toBe(0)
  return { dir, run }
}

type Run = Awaited<ReturnType<typeof setup>>['run']

/** Creates /app.db with table t (id, name, score, data) and three rows. */
async function seed(run: Run, ...extra: string[]) {
  const r = await run(
    'sql', 'box', '/app.db', '--create', ...extra,
    `CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB);
     INSERT INTO t VALUES (1, 'alice', 3.5, x'00ff');
     INSERT INTO t VALUES (2, NULL, -1, NULL);
     INSERT INTO t VALUES (10, 'bob, "the" builder', 10.25, NULL);`,
  )
  expect(r).toEqual({ code: 0, stdout: '', stderr: '' })
}

/** A plain SQLite file made by better-sqlite3 with `rows` rows in t(id, v). */
function makeDatabase(path: string, rows: number, options: { pageSize?: number; leaveWal?: number } = {}) {
  const db = new Database(path)
  if (options.pageSize) db.pragma(`page_size = ${options.pageSize}`)
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)')
  const insert = db.prepare('INSERT INTO t(v) VALUES (?)')
  const fill = db.transaction((n: number, tag: string) => {
    for (let i = 0; i < n; i++) insert.run(`${tag} ${i} ${'x'.repeat(i % 64)}`)
  })
  fill(rows, 'row')
  if (options.leaveWal) {
    // Rows that live only in the -wal: copy both files while the connection still holds them.
    db.pragma('journal_mode = WAL')
    db.pragma('wal_autocheckpoint = 0')
    fill(options.leaveWal, 'late')
    writeFileSync(`${path}.copy`, readFileSync(path))
    writeFileSync(`${path}.copy-wal`, readFileSync(`${path}-wal`))
  }
  db.close()
  if (options.leaveWal) {
    writeFileSync(path, readFileSync(`${path}.copy`))
    writeFileSync(`${path}-wal`, readFileSync(`${path}.copy-wal`))
    rmSync(`${path}.copy`)
    rmSync(`${path}.copy-wal`)
  }
}

function rowsOf(path: string): unknown[] {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    return db.prepare('SELECT id, name, score, hex(data) AS data FROM t ORDER BY id').all()
  } finally {
    db.close()
  }
}

const expectedRows = [
  { id: 1, name: 'alice', score: 3.5, data: '00FF' },
  { id: 2, name: null, score: -1, data: '' },
  { id: 10, name: 'bob, "the" builder', score: 10.25, data: '' },
]

describe('cartridge sql', () => {
  it('runs statements, then prints rows as a table, JSON and CSV', async () => {
    const { run } = await setup()
    await seed(run)
    const table = await run('sql', 'box', 'app.db', 'SELECT * FROM t ORDER BY id') // leading slash optional
    expect(table).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'id  name                score  data',
        '--  ------------------  -----  -------',
        "1   alice               3.5    x'00ff'",
        '2                       -1',
        '10  bob, "the" builder  10.25',
        '',
      ].join('\n'),
    })

    const json = await run('sql', 'box', '/app.db', '--json', 'SELECT * FROM t ORDER BY id')
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual([
      { id: 1, name: 'alice', score: 3.5, data: 'AP8=' },
      { id: 2, name: null, score: -1, data: null },
      { id: 10, name: 'bob, "the" builder', score: 10.25, data: null },
    ])

    const csv = await run('sql', 'box', '/app.db', '--csv', 'SELECT * FROM t ORDER BY id')
    expect(csv).toEqual({
      code: 0,
      stderr: '',
      stdout: "id,name,score,data\n1,alice,3.5,x'00ff'\n2,,-1,\n10,\"bob, \"\"the\"\" builder\",10.25,\n",
    })

    // Statements that return rows print them even when they change data; an empty result keeps its header.
    const returning = await run('sql', 'box', '/app.db', '--csv', "INSERT INTO t(id, name) VALUES (11, 'eve') RETURNING id, name")
    expect(returning.stdout).toBe('id,name\n11,eve\n')
    expect((await run('sql', 'box', '/app.db', '--csv', 'SELECT id FROM t WHERE 0')).stdout).toBe('id\n')
    expect((await run('sql', 'box', '/app.db', '--json', 'SELECT id FROM t WHERE 0')).stdout).toBe('[]\n')
    expect((await run('sql', 'box', '/app.db', 'SELECT count(*) AS n FROM t;')).stdout).toBe('n\n-\n4\n')
  })

  it('a SQL error: exit 1 with the SQLite code, and the data stays intact', async () => {
    const { run } = await setup()
    await seed(run)
    const bad = await run('sql', 'box', '/app.db', 'SELEC * FROM t')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^cartridge: .*syntax error \(SQLITE_ERROR\)\n$/)
    const missing = await run('sql', 'box', '/app.db', 'INSERT INTO nope VALUES (1); INSERT INTO t(id) VALUES (99)')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe('cartridge: no such table: nope (SQLITE_ERROR)\n')
    const dup = await run('sql', 'box', '/app.db', 'INSERT INTO t(id) VALUES (1)')
    expect(dup.stderr).toContain('(SQLITE_CONSTRAINT_PRIMARYKEY)')

    expect((await run('sql', 'box', '/app.db', "INSERT INTO t(id, name) VALUES (3, 'carol')")).code).toBe(0)
    const names = await run('sql', 'box', '/app.db', '--json', 'SELECT id, name FROM t ORDER BY id')
    expect(JSON.parse(names.stdout)).toEqual([
      { id: 1, name: 'alice' }, { id: 2, name: null }, { id: 3, name: 'carol' }, { id: 10, name: 'bob, "the" builder' },
    ])
    expect((await run('check', 'box', '--data')).code).toBe(0)
  })

  it('ls shows the database file sql created', async () => {
    const { run } = await setup()
    await seed(run)
    const ls = await run('ls', 'box', '-l')
    expect(ls.stdout).toMatch(/^\s+\d+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  app\.db\n$/)
  })

  it('--readonly reads but cannot write, and does not create databases', async () => {
    const { run } = await setup()
    await seed(run)
    const read = await run('sql', 'box', '/app.db', '--readonly', '--csv', 'SELECT name FROM t WHERE id = 1')
    expect(read).toEqual({ code: 0, stdout: 'name\nalice\n', stderr: '' })
    const write = await run('sql', 'box', '/app.db', '--readonly', "UPDATE t SET name = 'mallory'")
    expect(write.code).toBe(1)
    expect(write.stderr).toContain('(SQLITE_READONLY)')
    const absent = await run('sql', 'box', '/other.db', '--readonly', 'SELECT 1')
    expect(absent.code).toBe(1)
    expect(absent.stderr).toContain('(CARTRIDGE_NOT_FOUND)')
    // A mistyped name creates nothing: a new database needs --create.
    const typo = await run('sql', 'box', '/ap.db', 'SELECT 1')
    expect(typo.code).toBe(1)
    expect(typo.stderr).toBe('cartridge: no database /ap.db in the container (use --create to make a new one) (CARTRIDGE_NOT_FOUND)\n')
    expect((await run('ls', 'box')).stdout).toBe('app.db\n')
    expect((await run('sql', 'box', '/app.db', '--csv', 'SELECT name FROM t WHERE id = 1')).stdout).toBe('name\nalice\n')
  })

  it('keeps a WAL database in WAL mode, and --mode switches it', async () => {
    const { run } = await setup()
    await seed(run, '--mode', 'wal')
    expect((await run('sql', 'box', '/app.db', '--csv', 'PRAGMA journal_mode')).stdout).toBe('journal_mode\nwal\n') // detected
    expect((await run('sql', 'box', '/app.db', '--readonly', '--csv', 'SELECT count(*) AS n FROM t')).stdout).toBe('n\n3\n')
    expect((await run('sql', 'box', '/app.db', '--mode', 'atomic', '--csv', 'PRAGMA journal_mode')).stdout).toBe('journal_mode\nmemory\n')
    expect((await run('sql', 'box', '/app.db', '--csv', 'SELECT count(*) AS n FROM t')).stdout).toBe('n\n3\n')
  })

  it('exports a plain SQLite file that better-sqlite3 opens', async () => {
    const { dir, run } = await setup()
    await seed(run)
    const r = await run('sql', 'export', 'box', '/app.db', 'out.db')
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(r.stderr).toMatch(/^exported \/app\.db \([\d.]+ KiB\) to out\.db\n$/)
    expect(rowsOf(join(dir, 'out.db'))).toEqual(expectedRows)
    expect(readdirSync(dir).sort()).toEqual(['box.cart', 'out.db']) // no partial or -wal files left
  })

  it.skipIf(!existsSync('/usr/bin/sqlite3'))('the exported file passes the sqlite3 tool\'s integrity_check', async () => {
    const { dir, run } = await setup()
    await seed(run)
    expect((await run('sql', 'export', 'box', '/app.db', 'out.db', '-q')).code).toBe(0)
    const out = execFileSync('sqlite3', [join(dir, 'out.db'), 'PRAGMA integrity_check; SELECT count(*) FROM t;'], { encoding: 'utf8' })
    expect(out).toBe('ok\n3\n')
  })

  it('exports a WAL-mode database with every row', async () => {
    const { dir, run } = await setup()
    await seed(run, '--mode', 'wal')
    const more = "WITH RECURSIVE n(x) AS (SELECT 100 UNION ALL SELECT x + 1 FROM n WHERE x < 2099) INSERT INTO t(id, name) SELECT x, 'n' || x FROM n"
    expect((await run('sql', 'box', '/app.db', '--mode', 'wal', more)).code).toBe(0)
    expect((await run('sql', 'export', 'box', 'app.db', 'wal.db')).code).toBe(0)
    const db = new Database(join(dir, 'wal.db'), { fileMustExist: true })
    try {
      expect(db.prepare('SELECT count(*) AS n, max(id) AS top FROM t').get()).toEqual({ n: 2003, top: 2099 })
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    } finally {
      db.close()
    }
  })

  it('export refuses to overwrite unless --force, and reports a missing database', async () => {
    const { dir, run } = await setup()
    await seed(run)
    writeFileSync(join(dir, 'out.db'), 'precious')
    const refused = await run('sql', 'export', 'box', '/app.db', 'out.db')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe('cartridge: out.db already exists (use --force to replace it) (CARTRIDGE_EXISTS)\n')
    expect(readFileSync(join(dir, 'out.db'), 'utf8')).toBe('precious')
    writeFileSync(join(dir, 'out.db-wal'), 'stale log')
    expect((await run('sql', 'export', 'box', '/app.db', 'out.db', '--force', '-q')).code).toBe(0)
    expect(existsSync(join(dir, 'out.db-wal'))).toBe(false) // a stale log would be replayed onto the new file
    expect(rowsOf(join(dir, 'out.db'))).toEqual(expectedRows)

    const absent = await run('sql', 'export', 'box', '/nope.db', 'nope.db')
    expect(absent.code).toBe(1)
    expect(absent.stderr).toContain('(CARTRIDGE_NOT_FOUND)')
    expect(existsSync(join(dir, 'nope.db'))).toBe(false)
  })

  it('imports a plain database of many pages, and queries it in the container', async () => {
    const { dir, run } = await setup()
    makeDatabase(join(dir, 'big.db'), 5000)
    const size = statSync(join(dir, 'big.db')).size
    expect(size).toBeGreaterThan(40 * 4096)
    const r = await run('sql', 'import', 'box', 'big.db')
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(r.stderr).toMatch(/^imported big\.db as \/big\.db \([\d.]+ KiB\)\n$/)
    expect((await run('sql', 'box', '/big.db', 'SELECT count(*) AS n, max(id) AS top FROM t')).stdout).toBe('n     top\n----  ----\n5000  5000\n')
    expect((await run('ls', 'box', '-l')).stdout).toMatch(new RegExp(`^\\s*${size}  .+  big\\.db\\n$`))

    // Another page size, to a chosen path; then a round trip back out is byte for byte the same.
    makeDatabase(join(dir, 'small-pages.db'), 3000, { pageSize: 1024 })
    expect((await run('sql', 'import', 'box', 'small-pages.db', '/dbs/sp.db', '-q')).code).toBe(0)
    expect((await run('sql', 'box', 'dbs/sp.db', '--csv', 'SELECT count(*) AS n FROM t')).stdout).toBe('n\n3000\n')
    expect((await run('sql', 'export', 'box', '/big.db', 'big.copy.db', '-q')).code).toBe(0)
    expect(readFileSync(join(dir, 'big.copy.db')).equals(readFileSync(join(dir, 'big.db')))).toBe(true)
    expect((await run('check', 'box', '--data')).code).toBe(0)
  })

  it('import checkpoints a -wal beside the source first, so no row is lost', async () => {
    const { dir, run } = await setup()
    makeDatabase(join(dir, 'w.db'), 1000, { leaveWal: 700 })
    expect(statSync(join(dir, 'w.db-wal')).size).toBeGreaterThan(0)
    expect((await run('sql', 'import', 'box', 'w.db', '-q')).code).toBe(0)
    expect((await run('sql', 'box', '/w.db', '--csv', 'SELECT count(*) AS n FROM t')).stdout).toBe('n\n1700\n')
    expect((await run('sql', 'box', '/w.db', '--csv', 'PRAGMA journal_mode')).stdout).toBe('journal_mode\nwal\n')
  })

  it('import refuses a file that is not SQLite, leaving nothing in the container', async () => {
    const { dir, run } = await setup()
    writeFileSync(join(dir, 'notes.db'), 'just some text, longer than sixteen bytes\n')
    const r = await run('sql', 'import', 'box', 'notes.db')
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('cartridge: notes.db is not a SQLite database (it does not start with "SQLite format 3") (CARTRIDGE_INVALID_ARGUMENT)\n')
    writeFileSync(join(dir, 'tiny.db'), 'SQLite')
    expect((await run('sql', 'import', 'box', 'tiny.db')).stderr).toContain('(CARTRIDGE_INVALID_ARGUMENT)')
    expect((await run('ls', 'box', '-r')).stdout).toBe('')
  })

  it('import over an existing database needs --force', async () => {
    const { dir, run } = await setup()
    await seed(run)
    makeDatabase(join(dir, 'app.db'), 50)
    const refused = await run('sql', 'import', 'box', 'app.db')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe('cartridge: /app.db already exists in the container (use --force to replace it) (CARTRIDGE_EXISTS)\n')
    expect((await run('sql', 'box', '/app.db', '--csv', 'SELECT count(*) AS n FROM t')).stdout).toBe('n\n3\n')
    expect((await run('sql', 'import', 'box', 'app.db', '--force', '-q')).code).toBe(0)
    expect((await run('sql', 'box', '/app.db', '--csv', 'SELECT count(*) AS n FROM t')).stdout).toBe('n\n50\n')
  })

  it('import refuses a corrupt database and removes the copy', async () => {
    const { dir, run } = await setup()
    const path = join(dir, 'bad.db')
    makeDatabase(path, 3000)
    const bytes = readFileSync(path)
    bytes.fill(0xff, 10 * 4096, 12 * 4096) // wreck two b-tree pages, keep the header
    writeFileSync(path, bytes)
    const r = await run('sql', 'import', 'box', 'bad.db', '-q')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^cartridge: bad\.db fails quick_check \(not imported\): .*\(CARTRIDGE_CORRUPT\)\n$/)
    expect((await run('ls', 'box')).stdout).toBe('')
  })

  it('draws a progress bar on a TTY for a long import and export', async () => {
    const { dir } = await setup()
    makeDatabase(join(dir, 'big.db'), 25000)
    const size = statSync(join(dir, 'big.db')).size
    expect(size).toBeGreaterThan(1024 * 1024)
    for (const argv of [['sql', 'import', 'box', 'big.db'], ['sql', 'export', 'box', '/big.db', 'back.db']]) {
      const err = capture(true)
      expect(await main(argv, { stdout: capture().stream, stderr: err.stream, cwd: dir })).toBe(0)
      expect(err.text()).toMatch(/^\r\[-+\]    0%  0 B \/ [\d.]+ MiB .*\r\[#+\]  100%  ([\d.]+) MiB \/ \1 MiB .*\n(imported|exported) /s)
    }
    expect(readFileSync(join(dir, 'back.db')).equals(readFileSync(join(dir, 'big.db')))).toBe(true)
  })

  it('help lists the three forms; usage errors exit 2', async () => {
    const { run } = await setup()
    const help = await run('sql', '--help')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: cartridge sql [options] <cart> <db> <sql>')
    expect(help.stdout).toContain('export [options] <cart> <db> <out-file>')
    expect(help.stdout).toContain('import [options] <cart> <file.db> [db]')
    expect((await run('--help')).stdout).toContain('sql [options] <cart> <db> <sql>')
    expect((await run('sql', 'import', '--help')).stdout).toContain('Usage: cartridge sql import [options] <cart> <file.db> [db]')
    expect((await run('sql', 'box', '/app.db')).code).toBe(2)
    expect((await run('sql', 'export', 'box', '/app.db')).code).toBe(2)
    expect((await run('sql', 'box', '/app.db', '--json', '--csv', 'SELECT 1')).code).toBe(2)
    const mode = await run('sql', 'box', '/app.db', '--mode', 'fast', 'SELECT 1')
    expect(mode.code).toBe(2)
    expect(mode.stderr).toContain('Allowed choices are atomic, wal')
  })
})
