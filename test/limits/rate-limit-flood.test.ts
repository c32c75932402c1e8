// Without Redis, 10,050 keyless requests from as many addresses must not give a limited key a fresh window.
import { test } from 'tap'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'

test('a limited key stays limited after 10,050 keyless requests from different addresses', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, {
    upstreamUrl: upstream.url,
    env: { TRUST_PROXY: 'true', RATE_LIMIT_MAX: '1000' },
    keys: [{ id: 'tight', key: 'spk_tight_key', rateLimit: { max: 2, timeWindow: '1 hour' } }]
  })
  const asKey = async (): Promise<number> => (await proxy.app.inject({ url: '/presets', headers: { authorization: 'Bearer spk_tight_key' } })).statusCode
  t.same([await asKey(), await asKey(), await asKey()], [200, 200, 429])
  for (let i = 0; i < 10_050; i++) {
    await proxy.app.inject({ url: '/presets', headers: { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } })
  }
  t.equal(await asKey(), 429, 'the key\'s window was not evicted')
})
