// @fastify/under-pressure: a lagging event loop sheds API requests with 503 OVERLOADED; ops routes still answer.
import { test } from 'tap'
import { request } from 'undici'
import { startEmulator, startProxy } from '../fixtures/harness.js'
import { eventually, stylize } from '../upstream/fixtures/client.js'

/** Keeps this process's event loop (the proxy's too: it runs in-process) busy. */
function blockEventLoop (ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) { /* busy */ }
}

test('a lagging event loop answers 503 OVERLOADED with Retry-After; health, readiness and metrics still answer', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { MAX_EVENT_LOOP_DELAY_MS: '25' } })
  // longer than the 1 s sampling interval, so the next sample sees the lag whatever the phase
  blockEventLoop(4000)
  const shed = await stylize(proxy.url)
  t.equal(shed.status, 503)
  t.equal(shed.json.code, 'OVERLOADED')
  t.ok(Number(shed.headers['retry-after']) >= 1)
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const response = await request(`${proxy.url}${path}`)
    await response.body.dump()
    t.equal(response.statusCode, 200, `${path} is exempt`)
  }
  t.equal(emulator.app.emulatorStats.calls, 0)
  t.match(proxy.logText(), /overloaded, shedding the request/)
  // the next samples see a calm loop again
  await eventually(async () => (await stylize(proxy.url)).status === 200, 15_000)
})

test('MAX_EVENT_LOOP_DELAY_MS=0 turns the event-loop check off', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { MAX_EVENT_LOOP_DELAY_MS: '0' } })
  blockEventLoop(1500)
  t.equal((await stylize(proxy.url)).status, 200)
})
