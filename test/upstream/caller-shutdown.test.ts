// The shutdown deadline and a call waiting to retry: stop() ends the wait at once with the last attempt's
// own error (it was sent: never "not called, retry"), and sends nothing more, on the replica's own gate
// and on a fleet worker's held slot alike.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'tap'
import { pino } from 'pino'
import { UpstreamCaller } from '../../src/upstream/caller.js'
import { UpstreamClient } from '../../src/upstream/client.js'
import { MemorySlotSource } from '../../src/upstream/memory-slots.js'
import { UpstreamCallError } from '../../src/upstream/response.js'
import { UpstreamUnavailable } from '../../src/upstream/unavailable.js'
import { eventually } from './fixtures/client.js'

type Teardown = { teardown: (fn: () => unknown) => void }

/** Always throttles, asking for a long wait. */
async function throttling (t: Teardown): Promise<{ url: string, calls: () => number }> {
  let calls = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      calls++
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '20' })
      res.end(JSON.stringify({ code: 50429, message: 'Request Has Reached API Limit', request_id: 'r', data: null }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls }
}

function callerFor (t: Teardown, url: string): UpstreamCaller {
  const client = new UpstreamClient({
    url,
    region: 'cn-north-1',
    service: 'cv',
    timeoutMs: 10_000,
    connections: 2,
    credentials: () => ({ accessKeyId: 'AKLTtest', secretAccessKey: 'secret' })
  })
  t.teardown(async () => { await client.close() })
  return new UpstreamCaller({
    client,
    slots: new MemorySlotSource(2),
    concurrency: 2,
    queueMax: 10,
    queueTimeoutMs: 30_000,
    retries: 3,
    deadlineMs: 90_000,
    breakerThreshold: 100,
    breakerCooldownMs: 1000,
    logger: pino({ level: 'silent' })
  })
}

for (const slotHeld of [false, true]) {
  test(`stop() while a call waits to retry (${slotHeld ? 'a fleet worker\'s held slot' : 'the replica\'s gate'}): its own error at once, nothing more sent`, async (t) => {
    const upstream = await throttling(t)
    const caller = callerFor(t, upstream.url)
    const started = performance.now()
    const call = caller.call({ req_key: 'x' }, { slotHeld }).then(() => undefined, (error: unknown) => error)
    await eventually(() => upstream.calls() === 1, 10_000)
    caller.stop()
    const error = await call
    t.ok(error instanceof UpstreamCallError, 'the attempt\'s own error, not a "not called" refusal')
    t.notOk(error instanceof UpstreamUnavailable)
    t.match(error, { upstreamCode: '50429', attempts: 1 })
    t.ok(performance.now() - started < 10_000, 'without waiting out the 20 s Retry-After')
    t.equal(upstream.calls(), 1, 'no retry after the deadline')
  })
}
