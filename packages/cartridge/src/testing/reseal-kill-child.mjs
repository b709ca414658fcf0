// Child process for the reseal kill -9 test: `enable` encrypts the container once, `rekey`
// re-seals it under fresh data keys forever. Prints "ack <n>" after each one completes.
import { Cartridge } from '../../dist/index.js'

const [path, mode, passphrase] = process.argv.slice(2)
const scrypt = { logN: 10, r: 8, p: 1 }
const cart = await Cartridge.open(path, mode === 'enable' ? {} : { passphrase })
process.stdout.write('ack 0\n')
if (mode === 'enable') {
  await cart.enableEncryption({ passphrase, scrypt })
  process.stdout.write('ack 1\n')
  setInterval(() => {}, 1000) // stay alive until killed
} else {
  for (let n = 1; ; n++) {
    await cart.rekey()
    process.stdout.write(`ack ${n}\n`)
  }
}
