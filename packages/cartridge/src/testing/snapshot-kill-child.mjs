// Child process for the snapshot kill -9 test: churns snapshots and vacuums forever, printing
// "ack <n>" after each round. The files under /stable and the snapshot "base" never change.
import { Cartridge } from '../../dist/index.js'

const [path, startText] = process.argv.slice(2)
const cart = await Cartridge.open(path, JSON.parse(process.env.CARTRIDGE_TEST_OPEN ?? '{}'))
const churn = (n) => new Uint8Array(60_000 + (n % 5) * 50_000).fill(n & 0xff)
let n = Number(startText)
for (;;) {
  await cart.write(`/churn/${n % 5}.bin`, churn(n))
  await cart.createSnapshot(`t${n}`)
  await cart.delete(`/churn/${n % 5}.bin`)
  if (n % 3 === 0) await cart.restoreSnapshot(`t${n}`)
  await cart.deleteSnapshot(`t${n}`)
  await cart.vacuum({ stepPages: 16 })
  process.stdout.write(`ack ${n}\n`)
  n++
}
