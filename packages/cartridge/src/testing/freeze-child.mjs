// Child process for the freeze memory test: freezes the container at argv[2] into argv[3] and
// prints its own peak RSS (bytes) as JSON, so the number covers the freeze and nothing else.
import { Cartridge, generateSigningKey } from '../../dist/index.js'

const [path, out] = process.argv.slice(2)
const before = process.memoryUsage.rss()
const cart = await Cartridge.open(path, { readOnly: true })
const openRss = process.memoryUsage.rss() - before
const { secretKey } = await generateSigningKey()
const summary = await cart.freezeToEngram(out, { secretKey, compression: 'zstd' })
await cart.close()
process.stdout.write(JSON.stringify({ peakRss: process.resourceUsage().maxRSS * 1024, openRss, bytes: summary.totalBytes, files: summary.fileCount }))
