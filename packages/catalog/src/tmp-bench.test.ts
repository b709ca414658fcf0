import { utf8 } from '@cartridge/core'
import { MemoryPageIO, NULL_PTR, PAGE_PAYLOAD, readHeader, type BlockPtr } from '@cartridge/pager'
import { it } from 'vitest'
import { BTreeCatalog } from './btree-catalog.js'
import { visitCatalog } from './visit-catalog.js'

function fill(io: MemoryPageIO, root: BlockPtr): string {
  let used = 0, leaves = 0, nodes = 0
  visitCatalog(io, root, { onNode: (p, level) => { nodes++; if (level === 0) { leaves++; used += readHeader(io.pages.get(p.page)!).used } } })
  return `leaves=${leaves} nodes=${nodes} fill=${(used / leaves / PAGE_PAYLOAD).toFixed(3)}`
}
function prng(seed: number) { let a = seed >>> 0; return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296 } }

it('bench', () => {
  const key = (i: number) => `/dir${i % 100}/file${i}`
  const rand = prng(1)
  const order = Array.from({ length: 10_000 }, (_, i) => i)
  for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j], order[i]] }
  for (const [name, ord] of [['shuffled', order], ['7919', Array.from({ length: 10_000 }, (_, i) => i).sort((a, b) => ((a * 7919) % 10007) - ((b * 7919) % 10007))], ['sorted-i', Array.from({ length: 10_000 }, (_, i) => i)]] as const) {
    const io = new MemoryPageIO()
    const cat = new BTreeCatalog(io, NULL_PTR)
    const value = utf8('0123456789abcdef')
    const t0 = performance.now()
    for (const i of ord) cat.put(key(i), value)
    const t1 = performance.now()
    const root = cat.flush()
    const t2 = performance.now()
    io.commit()
    console.log(name, `puts ${(t1 - t0).toFixed(1)}ms flush ${(t2 - t1).toFixed(1)}ms`, fill(io, root))
  }
  // warm runs
  for (let rep = 0; rep < 5; rep++) {
    const io = new MemoryPageIO()
    const cat = new BTreeCatalog(io, NULL_PTR, { cache: new Map() })
    const value = utf8('0123456789abcdef')
    const t0 = performance.now()
    for (const i of order) cat.put(key(i), value)
    const t1 = performance.now()
    const root = cat.flush()
    const t2 = performance.now()
    io.commit()
    const c2 = new BTreeCatalog(io, root, { cache: new Map() })
    const cache = new Map()
    const c3 = new BTreeCatalog(io, root, { cache })
    for (const i of order) c3.get(key(i))
    let t3 = performance.now()
    let n = 0
    for (let r = 0; r < 10; r++) for (const i of order) { if (c3.get(key(i))) n++ }
    let t4 = performance.now()
    // cold (no cache) gets
    const c4 = new BTreeCatalog(io, root)
    const t5 = performance.now()
    for (let j = 0; j < 2000; j++) c4.get(key(order[j]))
    const t6 = performance.now()
    let m = 0
    const t7 = performance.now()
    for (const _ of c3.entries()) m++
    const t8 = performance.now()
    console.log(`rep ${rep}: 10k puts ${(t1 - t0).toFixed(1)}ms flush ${(t2 - t1).toFixed(1)}ms total ${(t2 - t0).toFixed(1)}ms; warm get ${((t4 - t3) * 1000 / n).toFixed(2)}µs; cold get ${((t6 - t5) * 1000 / 2000).toFixed(1)}µs; scan ${((t8 - t7) * 1000 / m).toFixed(2)}µs/entry`)
    void c2
  }
})
