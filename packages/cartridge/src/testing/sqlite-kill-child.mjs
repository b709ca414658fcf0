// Child process for the SQLite kill -9 test: commits transactions forever into a database in a
// container, printing "ack <n>" once the transaction holding row n (and a few rows before it) is
// committed. Usage: node sqlite-kill-child.mjs <cart> <mode> <first n>
import { Cartridge } from '../../dist/index.js'

const [path, mode, startText] = process.argv.slice(2)
const cart = await Cartridge.open(path)
const db = cart.sqlite('/k.db', { mode })
if (mode === 'wal') db.pragma('synchronous = FULL')
db.exec('CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, v TEXT, b BLOB)')
const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?)')
const trim = db.prepare('DELETE FROM t WHERE n < ? AND n % 3 = 0')
let n = Number(startText)
const tx = db.transaction((first) => {
  for (let i = 0; i < 4; i++) insert.run(first + i, `row ${first + i}`, first % 5 === 0 ? Buffer.alloc(9000, first & 0xff) : null)
  trim.run(first - 40)
})
for (;;) {
  tx(n)
  process.stdout.write(`ack ${n + 3}\n`)
  n += 4
  if (n % 64 === 0) await new Promise((r) => setImmediate(r))
}
