import { test } from 'tap'
import { request } from 'undici'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'

test('per-key limits with headers; one key does not affect another; guessing is limited per address', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, {
    upstreamUrl: upstream.url,
    env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW: '1 minute' },
    keys: [
      { id: 'tight', key: 'spk_tight', rateLimit: { max: 2, timeWindow: '1 minute' } },
      { id: 'loose', key: 'spk_loose' }
    ]
  })
  const presets = async (headers: Record<string, string>) => {
    const res = await request(`${proxy.url}/presets`, { headers })
    return { status: res.statusCode, headers: res.headers, json: await res.body.json() as Record<string, unknown> }
  }
  const first = await presets({ authorization: 'Bearer spk_tight' })
  t.equal(first.status, 200)
  t.equal(first.headers['x-ratelimit-limit'], '2')
  t.equal(first.headers['x-ratelimit-remaining'], '1')
  t.ok(first.headers['x-ratelimit-reset'])
  t.equal((await presets({ authorization: 'Bearer spk_tight' })).status, 200)
  const limited = await presets({ authorization: 'Bearer spk_tight' })
  t.equal(limited.status, 429)
  t.match(limited.json, { code: 'RATE_LIMITED', statusCode: 429, error: 'Too Many Requests' })
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After is set')

  const loose = await presets({ 'x-api-key': 'spk_loose' })
  t.equal(loose.status, 200, 'another key is unaffected')
  t.equal(loose.headers['x-ratelimit-limit'], '3', 'the default limit applies without a per-key one')

  const guesses = []
  for (let i = 0; i < 4; i++) guesses.push((await presets({ authorization: `Bearer guess-${i}` })).status)
  t.same(guesses, [401, 401, 401, 429], 'wrong keys are limited per address')
  t.equal((await request(`${proxy.url}/healthz`)).statusCode, 200, 'health is never limited')
})
