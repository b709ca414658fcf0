// Child process for the kill -9 test: writes files forever, printing "ack <n>" after each write
// is acknowledged (its promise resolved, so it is committed and durable).
import { Cartridge } from '../../dist/index.js'

const [path, startText] = process.argv.slice(2)
const cart = await Cartridge.open(path, JSON.parse(process.env.CARTRIDGE_TEST_OPEN ?? '{}'))
function content(n) {
  const size = [5, 700, 9000, 150_000][n % 4]
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (n * 31 + i * 7) & 0xff
  return out
}
let n = Number(startText)
for (;;) {
  await cart.write(`/k/${n % 50}`, content(n))
  if (n % 7 === 0 && n > 0) await cart.delete(`/k/${(n - 3) % 50}`).catch(() => {})
  process.stdout.write(`ack ${n}\n`)
  n++
}
