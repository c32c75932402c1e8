// Every refusal the stylization service can give, as the emulator gives it: one paid call per client
// request where the contract says no retry, and the contract's code for each; and result links that expire.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'tap'
import type { FaultName } from '../../src/emulator/options.js'
import { retryAfterMsOf } from '../../src/upstream/response.js'
import { linkExpiresAt } from '../../src/upstream/result-url.js'
import { photo, startEmulator, startProxy, successAnswer } from '../fixtures/harness.js'
import { stylize } from './fixtures/client.js'

for (const name of ['50411', '50412', '50413', '50512', '50518', '50519'] as const) {
  test(`upstream ${name} (a content or copyright refusal): 422 CONTENT_REJECTED after one call, never retried`, async (t) => {
    const emulator = await startEmulator(t, { faults: [{ name, probability: 1 }] })
    const proxy = await startProxy(t, { upstreamUrl: emulator.url })
    const answer = await stylize(proxy.url)
    t.equal(answer.status, 422)
    t.equal(answer.json.code, 'CONTENT_REJECTED')
    t.equal(emulator.app.emulatorStats.calls, 1)
  })
}

for (const name of ['SignatureDoesNotMatch', 'AccessDenied', 'MissingAuthenticationToken'] as FaultName[]) {
  test(`gateway ${name}: 502 UPSTREAM_ERROR after one call, nothing of the gateway's in the answer`, async (t) => {
    const emulator = await startEmulator(t, { faults: [{ name, probability: 1 }] })
    const proxy = await startProxy(t, { upstreamUrl: emulator.url })
    const answer = await stylize(proxy.url)
    t.equal(answer.status, 502)
    t.equal(answer.json.code, 'UPSTREAM_ERROR')
    t.notMatch(JSON.stringify(answer.json), new RegExp(name))
    t.equal(emulator.app.emulatorStats.calls, 1)
    t.match(proxy.logText(), new RegExp(`"code":"${name}"`), 'the log names it')
  })
}

test('an idempotent replay hands out a kept result link only while it has a while to live', async (t) => {
  const headers = (key: string): { headers: Record<string, string> } => ({ headers: { 'idempotency-key': key } })
  const lasting = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: lasting.url })
  const first = await stylize(proxy.url, { return_url: true }, headers('link-a'))
  const replay = await stylize(proxy.url, { return_url: true }, headers('link-a'))
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(replay.json.image_url, first.json.image_url)
  t.equal(lasting.app.emulatorStats.calls, 1, 'a 24-hour link is replayed')

  // links that live 5 minutes: less than the margin a replayed link must still have
  const brief = await startEmulator(t, { urlTtlMs: 5 * 60_000 })
  const briefProxy = await startProxy(t, { upstreamUrl: brief.url })
  const once = await stylize(briefProxy.url, { return_url: true }, headers('link-b'))
  const again = await stylize(briefProxy.url, { return_url: true }, headers('link-b'))
  t.equal(again.status, 200)
  t.not(again.headers['idempotent-replayed'], 'true', 'not replayed: a link about to die is not kept')
  t.not(again.json.image_url, once.json.image_url)
  t.equal(brief.app.emulatorStats.calls, 2)
})

test('linkExpiresAt reads X-Tos-Date and X-Tos-Expires (or X-Amz-*), else assumes 24 hours', async (t) => {
  const now = Date.UTC(2026, 11, 3, 12, 0, 0)
  t.equal(linkExpiresAt('https://x.tos/a.jpeg?X-Tos-Date=20261203T110000Z&X-Tos-Expires=7200', now), Date.UTC(2026, 11, 3, 13, 0, 0))
  t.equal(linkExpiresAt('https://s3/a?X-Amz-Date=20261203T120000Z&X-Amz-Expires=60', now), now + 60_000)
  t.equal(linkExpiresAt('https://x/a.jpeg', now), now + 86_400_000)
  t.equal(linkExpiresAt('not a url', now), now + 86_400_000)
  t.equal(linkExpiresAt('https://x/a?X-Tos-Date=garbage&X-Tos-Expires=10', now), now + 86_400_000)
})

/** An upstream that throttles with a Retry-After header, `throttled` times, then succeeds. */
async function throttlingUpstream (t: Parameters<typeof startProxy>[0], retryAfter: string, throttled: number): Promise<{ url: string, calls: () => number }> {
  const image = await photo(800, 600)
  let calls = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      calls++
      if (calls <= throttled) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': retryAfter })
        res.end(JSON.stringify({ code: 50429, message: 'Request Has Reached API Limit, Please Try Later', request_id: 'throttled', data: null }))
        return
      }
      const { status, body } = successAnswer(image)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls }
}

test('the upstream\'s own Retry-After on throttling is passed on to the client', async (t) => {
  const upstream = await throttlingUpstream(t, '7', 10)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_RETRIES: '0' } })
  const answer = await stylize(proxy.url)
  t.equal(answer.status, 503)
  t.equal(answer.json.code, 'UPSTREAM_BUSY')
  t.equal(answer.headers['retry-after'], '7')
})

test('a retry after throttling waits at least the upstream\'s Retry-After', async (t) => {
  const upstream = await throttlingUpstream(t, '1', 1)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_RETRIES: '1' } })
  t.equal((await stylize(proxy.url)).status, 200)
  t.equal(upstream.calls(), 2)
  const retry = proxy.logs.find((line) => line.msg === 'retrying the upstream call')
  t.ok((retry?.delayMs as number) >= 1000, `waited ${String(retry?.delayMs)} ms`)
})

test('a Retry-After longer than the deadline allows is answered at once, with it', async (t) => {
  const upstream = await throttlingUpstream(t, '600', 10)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_RETRIES: '2' } })
  const answer = await stylize(proxy.url)
  t.equal(answer.status, 503)
  t.equal(answer.headers['retry-after'], '600')
  t.equal(upstream.calls(), 1, 'no retry that could not be waited for')
})

test('retryAfterMsOf reads seconds and HTTP dates', async (t) => {
  const now = Date.UTC(2026, 11, 3, 12, 0, 0)
  t.equal(retryAfterMsOf('3', now), 3000)
  t.equal(retryAfterMsOf('Thu, 03 Dec 2026 12:00:10 GMT', now), 10_000)
  t.equal(retryAfterMsOf(undefined, now), undefined)
  t.equal(retryAfterMsOf('soon', now), undefined)
})
