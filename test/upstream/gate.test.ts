// The concurrency gate over slot sources: FIFO, bounded length and wait, leaving the queue, slots freed elsewhere.
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { ConcurrencyGate, placeHeld } from '../../src/upstream/gate.js'
import { MemorySlotSource } from '../../src/upstream/memory-slots.js'
import { UpstreamUnavailable } from '../../src/upstream/unavailable.js'

function gate (limit: number, queueMax: number, queueTimeoutMs = 5000) {
  const source = new MemorySlotSource(limit)
  const refused: string[] = []
  const waits: number[] = []
  const instance = new ConcurrencyGate({
    source,
    concurrency: limit,
    queueMax,
    queueTimeoutMs,
    initialServiceMs: 2000,
    observer: { refused: (reason) => refused.push(reason), queueWait: (seconds) => waits.push(seconds) }
  })
  return { gate: instance, source, refused, waits }
}

test('the memory source holds its limit and gives slots back once', async (t) => {
  const source = new MemorySlotSource(1)
  let freed = 0
  source.onMaybeFree(() => { freed++ })
  const lease = await source.tryAcquire()
  t.ok(lease)
  t.equal(await source.tryAcquire(), undefined)
  await lease!.release()
  await lease!.release()
  t.equal(source.inUse, 0)
  t.equal(freed, 1)
  await source.close()
})

test('slots go to waiters first come, first served; a full queue refuses with a wait estimate', async (t) => {
  const { gate: g, refused, waits } = gate(2, 2)
  const first = await g.acquire()
  const second = await g.acquire()
  t.equal(g.held, 2)
  const order: string[] = []
  const third = g.acquire().then((lease) => { order.push('third'); return lease })
  const fourth = g.acquire().then((lease) => { order.push('fourth'); return lease })
  await sleep(10)
  t.equal(g.depth, 2)
  const full = await g.acquire().catch((error: unknown) => error)
  t.type(full, UpstreamUnavailable)
  t.match(full, { reason: 'queue_full' })
  t.ok((full as UpstreamUnavailable).retryAfterMs >= 2000, 'Retry-After from the service time: two calls ahead per slot')
  t.same(refused, ['queue_full'])

  await first.release()
  const thirdLease = await third
  t.same(order, ['third'])
  await second.release()
  const fourthLease = await fourth
  t.same(order, ['third', 'fourth'])
  t.equal(g.depth, 0)
  await thirdLease.release()
  await fourthLease.release()
  t.equal(g.held, 0)
  t.equal(waits.length, 4)
  t.ok(waits[0]! < 0.05 && waits[1]! < 0.05, 'free slots are taken at once')
})

test('a waiter times out of the queue with 503 material, and the queue moves on', async (t) => {
  const { gate: g } = gate(1, 5, 150)
  const held = await g.acquire()
  const started = Date.now()
  const late = await g.acquire().catch((error: unknown) => error)
  t.match(late, { reason: 'queue_timeout' })
  t.ok(Date.now() - started >= 140)
  t.equal(g.depth, 0)
  await held.release()
  const next = await g.acquire()
  await next.release()
})

test('a waiter whose signal aborts leaves the queue at once and never gets a slot', async (t) => {
  const { gate: g, source } = gate(1, 5)
  const held = await g.acquire()
  const controller = new AbortController()
  const leaving = g.acquire({ signal: controller.signal }).catch((error: unknown) => error)
  const staying = g.acquire()
  await sleep(10)
  t.equal(g.depth, 2)
  controller.abort()
  t.match(await leaving, { reason: 'cancelled' })
  t.equal(g.depth, 1)
  await held.release()
  const lease = await staying
  t.equal(source.inUse, 1, 'the slot went to the one still waiting')
  await lease.release()
  const aborted = new AbortController()
  aborted.abort()
  t.match(await g.acquire({ signal: aborted.signal }).catch((error: unknown) => error), { reason: 'cancelled' })
})

test('admitted retries queue again even when the queue is full', async (t) => {
  const { gate: g } = gate(1, 0)
  const held = await g.acquire()
  t.match(await g.acquire().catch((error: unknown) => error), { reason: 'queue_full' })
  const retry = g.acquire({ admitted: true })
  await held.release()
  await (await retry).release()
})

test('two replicas on one source: a slot freed by one wakes the other', async (t) => {
  const source = new MemorySlotSource(1)
  const options = { source, concurrency: 1, queueMax: 5, queueTimeoutMs: 5000 }
  const a = new ConcurrencyGate(options)
  const b = new ConcurrencyGate(options)
  const held = await a.acquire()
  const waiting = b.acquire()
  await sleep(20)
  await held.release()
  const lease = await waiting
  t.equal(b.held, 1)
  await lease.release()
})

test('closing refuses the queue and every later request', async (t) => {
  const { gate: g } = gate(1, 5)
  const held = await g.acquire()
  const queued = g.acquire().catch((error: unknown) => error)
  g.close()
  t.match(await queued, { reason: 'shutting_down' })
  t.match(await g.acquire().catch((error: unknown) => error), { reason: 'shutting_down' })
  await held.release()
})

test('reservations: a burst gets the free slots and the room in line, no more, before any of it queues', async (t) => {
  const { gate: g } = gate(2, 3)
  const places = Array.from({ length: 8 }, () => g.reserve())
  t.equal(places.filter((place) => place !== undefined).length, 5, '2 slots + 3 in line')
  // the admitted ones reach the gate: they hold the two slots and wait in line, and none is refused
  const admitted = places.filter((place) => place !== undefined)
  const leases = admitted.map(async (reservation) => await g.acquire({ reservation }))
  await turn()
  t.equal(g.held, 2)
  t.equal(g.depth, 3)
  t.equal(g.reserve(), undefined, 'still full: the line holds what was reserved')
  const first = await leases[0]!
  await first.release()
  await turn()
  t.equal(g.depth, 2, 'a waiter took the freed slot')
  t.ok(g.reserve(), 'and one place is free again')
  for (const lease of leases.slice(1)) void lease.then(async (held) => { await held.release() })
})

test('a reservation given back (the request ended first) frees its place; giving it back twice frees one', async (t) => {
  const { gate: g } = gate(1, 1)
  const a = g.reserve()
  const b = g.reserve()
  t.ok(a && b)
  t.equal(g.reserve(), undefined)
  a!.release()
  a![Symbol.dispose]()
  t.ok(g.reserve(), 'one place back')
  t.equal(g.reserve(), undefined, 'only one')
  b!.release()
})

test('only the gate\'s own held reservation is promised a place: another\'s (a fleet queue\'s, after Redis was lost) finds the line as it is', async (t) => {
  const { gate: g } = gate(1, 1)
  const slot = await g.acquire()
  const waiting = g.acquire()
  await turn()
  t.equal(g.depth, 1, 'the line is full')
  const foreign = placeHeld({}, () => {})
  await t.rejects(g.acquire({ reservation: foreign }), UpstreamUnavailable, 'not this gate\'s: refused')
  t.equal(foreign.held, false, 'and given back')
  await slot.release()
  await (await waiting).release()
})
