import { describe, expect, it } from 'vitest'
import { Cartridge, MemoryPageStore } from './index.js'

const fresh = () => Cartridge.fromStore(new MemoryPageStore(), { create: { slug: 't' } })
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** Settles `p` or reports that it was still pending after the queued callbacks ran (a hang). */
async function settledSoon<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | 'pending'> {
  const tagged = p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))
  // A few macrotask turns: everything a refused call does happens within one.
  for (let i = 0; i < 5; i++) {
    const r = await Promise.race([tagged, new Promise<'pending'>((res) => setImmediate(() => res('pending')))])
    if (r !== 'pending') return r
  }
  return 'pending'
}

describe('transaction(): calling the container from inside the callback', () => {
  const calls: Array<[string, (c: Cartridge) => Promise<unknown>]> = [
    ['write', (c) => c.write('/inner', 'x')],
    ['delete', (c) => c.delete('/kept')],
    ['rename', (c) => c.rename('/kept', '/moved')],
    ['nested transaction', (c) => c.transaction(async (t) => t.write('/nested', 'n'))],
    ['createSnapshot', (c) => c.createSnapshot('inner')],
    ['flush', (c) => c.flush()],
    ['check', (c) => c.check()],
    ['listSnapshots', (c) => c.listSnapshots()],
    ['vacuum', (c) => c.vacuum()],
    ['close', (c) => c.close()],
  ]
  for (const [name, call] of calls) {
    it(`${name} fails at once with CARTRIDGE_CONFLICT, and the container keeps working`, async () => {
      const cart = await fresh()
      await cart.write('/kept', 'k')
      const outcome = await cart.transaction(async (tx) => {
        await tx.write('/a', 'in tx')
        const r = await settledSoon(call(cart))
        await tx.write('/b', 'after')
        return r
      })
      expect(outcome).not.toBe('pending')
      expect(outcome).toMatchObject({ ok: false, error: { code: 'CARTRIDGE_CONFLICT' } })
      expect(((outcome as { error: Error }).error).message).toMatch(/use the callback's tx/)
      // The transaction committed what it did through tx; nothing of the refused call happened.
      expect(await cart.list('/')).toEqual(['/a', '/b', '/kept'])
      expect((await cart.listSnapshots()).length).toBe(0)
      // Writers, snapshots and close still work afterwards.
      await cart.write('/later', 'l')
      await cart.createSnapshot('after')
      expect(text(await cart.read('/later'))).toBe('l')
      expect((await settledSoon(cart.close())) as unknown).toMatchObject({ ok: true })
    })
  }

  it('reads on the container inside the callback see the state before the transaction', async () => {
    const cart = await fresh()
    await cart.write('/f', 'old')
    await cart.transaction(async (tx) => {
      await tx.write('/f', 'new')
      expect(text(await cart.read('/f'))).toBe('old')
      expect(text(await tx.read('/f'))).toBe('new')
    })
    expect(text(await cart.read('/f'))).toBe('new')
    await cart.close()
  })

  it('a call made from the callback after the transaction ended is not refused', async () => {
    const cart = await fresh()
    let later: Promise<void> | undefined
    await cart.transaction(async (tx) => {
      await tx.write('/a', '1')
    }).then(() => {
      later = cart.write('/b', '2')
    })
    await later
    expect(await cart.list('/')).toEqual(['/a', '/b'])
    await cart.close()
  })
})

describe('transaction(): AbortSignal', () => {
  it('a callback that never settles is rolled back and releases the writer when the signal fires', async () => {
    const cart = await fresh()
    await cart.write('/before', 'b')
    const ac = new AbortController()
    let txHandle: Parameters<Parameters<Cartridge['transaction']>[0]>[0] | undefined
    let entered!: () => void
    const inside = new Promise<void>((r) => (entered = r))
    const stuck = cart.transaction(async (tx) => {
      txHandle = tx
      await tx.write('/never', 'n')
      entered()
      await new Promise(() => {}) // never settles
    }, { signal: ac.signal })
    await inside
    // A writer queued behind the stuck transaction waits…
    const queued = cart.write('/queued', 'q')
    expect(await settledSoon(queued)).toBe('pending')
    ac.abort(new Error('took too long'))
    await expect(stuck).rejects.toMatchObject({ code: 'CARTRIDGE_ABORTED' })
    // …and proceeds once the signal fired; the stuck transaction's write never happened.
    await queued
    expect(await cart.list('/')).toEqual(['/before', '/queued'])
    await expect(txHandle!.write('/late', 'x')).rejects.toMatchObject({ code: 'CARTRIDGE_CLOSED' })
    expect(await cart.exists('/late')).toBe(false)
    expect((await cart.check({ data: true })).ok).toBe(true)
    await cart.close()
  })

  it('a signal that fires while waiting for the writer gives up the wait without running the callback', async () => {
    const cart = await fresh()
    let release!: () => void
    const holding = cart.transaction(async (tx) => {
      await tx.write('/first', '1')
      await new Promise<void>((r) => (release = r))
    })
    await Promise.resolve()
    const ac = new AbortController()
    let ran = false
    const waiting = cart.transaction(async (tx) => {
      ran = true
      await tx.write('/second', '2')
    }, { signal: ac.signal })
    const third = cart.transaction(async (tx) => tx.write('/third', '3'))
    ac.abort()
    await expect(waiting).rejects.toMatchObject({ code: 'CARTRIDGE_ABORTED' })
    while (!release) await new Promise((r) => setImmediate(r))
    release()
    await holding
    await third
    expect(ran).toBe(false)
    expect(await cart.list('/')).toEqual(['/first', '/third'])
    await cart.close()
  })

  it('an already-aborted signal fails before anything runs', async () => {
    const cart = await fresh()
    let ran = false
    await expect(cart.transaction(() => { ran = true }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CARTRIDGE_ABORTED' })
    expect(ran).toBe(false)
    await cart.close()
  })
})
